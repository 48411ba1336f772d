package specdiff

import (
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"
)

// Changes returns every change oasdiff finds between the base and revision documents, at every
// level (ERR, WARN and INFO), in oasdiff's order. The names label the documents in messages.
func Changes(base []byte, baseName string, revision []byte, revisionName string) (checker.Changes, error) {
	// One loader per document: a loader caches documents by path, and both are in memory.
	// allOf is merged before the comparison, so that a property written as allOf of one $ref
	// (how the spec makes a reference nullable) compares by what it describes.
	s1, err := load.NewSpecInfoFromData(newLoader(), base, baseName, load.WithFlattenAllOf())
	if err != nil {
		return nil, fmt.Errorf("load base spec %s: %w", baseName, err)
	}
	s2, err := load.NewSpecInfoFromData(newLoader(), revision, revisionName, load.WithFlattenAllOf())
	if err != nil {
		return nil, fmt.Errorf("load revised spec %s: %w", revisionName, err)
	}
	report, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
	if err != nil {
		return nil, fmt.Errorf("diff %s with %s: %w", baseName, revisionName, err)
	}
	config := checker.NewConfig(checker.GetAllChecks(), checker.WithSeverityLevels(SeverityOverrides))
	return checker.CheckBackwardCompatibilityUntilLevel(config, report, sources, checker.INFO), nil
}

// SeverityOverrides changes the level of the oasdiff rules whose default does not fit a module
// whose users compile against types generated from the spec. oasdiff judges a change by what
// it does on the wire; here a change that makes user code stop compiling breaks users too, and
// a new value in a response enum does not, since the generated enum types are strings that
// decode any value.
var SeverityOverrides = map[string]checker.Level{
	// The field, method or type generated from the removed item disappears.
	"response-optional-property-removed": checker.ERR,
	"request-property-removed":           checker.ERR,
	"request-parameter-removed":          checker.ERR,
	"api-operation-id-removed":           checker.ERR,
	"api-schema-removed":                 checker.ERR,
	// The Go constant generated for the value disappears.
	"response-property-enum-value-removed": checker.ERR,
	// The generated enum type is a string: an unknown value decodes as it is.
	"response-property-enum-value-added": checker.WARN,
}

func newLoader() *openapi3.Loader {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	return loader
}

// Key names one change so that CHANGELOG.md can list it: the oasdiff rule id, then for a change
// to an operation its method and path, then the rule's arguments (such as the property and the
// status code), separated by spaces. For example:
//
//	response-required-property-removed POST /uploads/{upload_id}/cancel filename 200
func Key(c checker.Change) string {
	parts := []string{c.GetId()}
	if op := c.GetOperation(); op != "" {
		parts = append(parts, op, c.GetPath())
	}
	for _, arg := range c.GetArgs() {
		parts = append(parts, fmt.Sprintf("%v", arg))
	}
	return strings.Join(parts, " ")
}

// ruleIDs returns the ids of every oasdiff rule, to tell a change key apart from other code in
// CHANGELOG.md.
func ruleIDs() map[string]bool {
	ids := make(map[string]bool)
	for _, rule := range checker.GetAllRules() {
		ids[rule.Id] = true
	}
	return ids
}
