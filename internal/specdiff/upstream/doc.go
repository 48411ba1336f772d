// Package upstream compares openapi/uploads.yaml with OpenAI's published OpenAPI document: it
// takes from the published document the operations the spec has (every one of them, Uploads and
// Files alike, matched by method and path, else by operationId), with the schemas they reach,
// compares their meaning, and sorts the differences into those openapi/DIVERGENCES.md explains
// and those it does not. Under the path prefixes given as Options.Whole (the command gives
// /uploads), a published operation the spec lacks is a difference too.
//
// Both documents are loaded by kin-openapi, which reads YAML or JSON, OpenAPI 3.0 or 3.1,
// resolves every $ref (a reference to nothing fails the load, naming it) and applies the
// keywords an OpenAPI 3.1 document writes beside a $ref. kin-openapi also keeps the keys it does
// not know, so a keyword new to a document is compared, not dropped.
//
// Before comparing, each schema is normalised the same way on both sides (see shape):
// nullability however written, allOf merged, a one-member anyOf or oneOf, const, an object
// without a type, exclusive bounds; documentation and foreign extensions are left out unless
// asked for. This step and the walk over the two documents are written here, not taken from
// oasdiff, for three reasons:
//
//   - oasdiff's allOf flattening reads `allOf: [$ref, {nullable: true}]`, the way the published
//     document writes "a File or null", as not nullable, and has no notion of the OpenAPI 3.1
//     spellings of null (a list of types, a null member of anyOf);
//   - it writes references out in place, so a difference inside a shared schema would be
//     reported once for every place that uses it, where a reader wants it once, under the
//     schema's name;
//   - its report is a tree keyed by paths and methods, and a change to a component is
//     reported both there and under each operation; the divergences need one stable key per
//     difference, in the spec's names, that a row of a table can list and match.
//
// Each difference has a key ("schema.Upload.properties.file.nullable") and two values, ours and
// upstream, "present"/"absent" for what exists on one side only. Something present on one side
// only is one difference, whatever it holds; a component referred to at the same place on both
// sides is compared once, under "schema.<Name>"; a component the published document names
// differently, where the table of names does not say so, is the difference
// "schema.<Name>.name".
package upstream
