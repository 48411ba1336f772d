package upstream

import (
	"fmt"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Difference is one way the published document differs from the spec.
type Difference struct {
	// Key says where, in the spec's terms: "operation.<operationId>...", "schema.<Name>..." or
	// "servers.<url>". For example "schema.Upload.properties.file.nullable".
	Key string
	// Ours and Upstream are the values in the spec and in the published document; Present or
	// Absent for something that exists on one side only.
	Ours, Upstream string
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: ours %s, upstream %s", d.Key, d.Ours, d.Upstream)
}

// Options change what Compare looks at.
type Options struct {
	// Names says what the published document calls the operations and schemas it names
	// differently from the spec.
	Names Names
	// Documentation compares descriptions, summaries and titles too.
	Documentation bool
	// Whole lists the path prefixes ("/uploads") under which the spec implements the published
	// API whole: a published operation there that the spec lacks is a difference. Elsewhere only
	// the spec's own operations are looked for.
	Whole []string
}

// inScope reports whether a path is one of the prefixes, or below one.
func inScope(path string, prefixes []string) bool {
	for _, prefix := range prefixes {
		prefix = strings.TrimSuffix(prefix, "/")
		if path == prefix || strings.HasPrefix(path, prefix+"/") {
			return true
		}
	}
	return false
}

// Compare returns every difference between the spec (ours) and the published document
// (upstream) in the operations the spec has and the schemas they reach, sorted by key.
//
// A component schema both documents refer to at the same place is compared once, under
// "schema.<Name>" (the spec's name); where the published document refers to a schema of
// another name that the names do not list, that is one difference, "schema.<Name>.name", and
// the two schemas are still compared.
func Compare(ours, upstream *Document, opts Options) ([]Difference, error) {
	c := &comparer{
		ours:     side{doc: ours, name: func(name string) string { return name }, docs: opts.Documentation},
		upstream: side{doc: upstream, name: opts.Names.oursSchema, docs: opts.Documentation},
		names:    opts.Names,
		queued:   map[[2]string]bool{},
		seen:     map[Difference]bool{},
		matched:  map[string]bool{},
	}
	c.compareDocuments()
	ops := ours.operations()
	if len(ops) == 0 {
		return nil, fmt.Errorf("compare: the spec has no operations")
	}
	slices.SortFunc(ops, func(a, b Operation) int { return strings.Compare(a.ID, b.ID) })
	for _, op := range ops {
		if op.ID == "" {
			return nil, fmt.Errorf("compare: the operation %s has no operationId", op)
		}
		c.compareOperation(op)
	}
	for _, op := range upstream.operations() {
		if inScope(op.Path, opts.Whole) && !c.matched[op.String()] {
			id := op.ID
			if id == "" {
				id = op.String()
			}
			c.add("operation."+id, Absent, Present)
		}
	}
	for len(c.queue) > 0 {
		pair := c.queue[0]
		c.queue = c.queue[1:]
		a, b := ours.schema(pair[0]), upstream.schema(pair[1])
		c.compareSchemas("schema."+pair[0], &openapi3.SchemaRef{Value: a.Value}, &openapi3.SchemaRef{Value: b.Value})
	}
	slices.SortFunc(c.diffs, func(a, b Difference) int { return strings.Compare(a.Key, b.Key) })
	return c.diffs, nil
}

// comparer walks the two documents side by side.
type comparer struct {
	ours, upstream side
	names          Names
	diffs          []Difference
	seen           map[Difference]bool
	matched        map[string]bool    // the published operations compared, by method and path
	queued         map[[2]string]bool // component schemas to compare: the spec's name, the published name
	queue          [][2]string
}

func (c *comparer) add(key, ours, upstream string) {
	d := Difference{Key: key, Ours: ours, Upstream: upstream}
	if !c.seen[d] {
		c.seen[d] = true
		c.diffs = append(c.diffs, d)
	}
}

// enqueue schedules the comparison of a component schema of the spec with the one the
// published document refers to at the same place.
func (c *comparer) enqueue(ours, published string) {
	pair := [2]string{ours, published}
	if c.queued[pair] {
		return
	}
	c.queued[pair] = true
	if published != ours && c.names.upstreamSchema(ours) != published {
		c.add("schema."+ours+".name", ours, published)
	}
	if c.ours.doc.schema(ours) == nil || c.upstream.doc.schema(published) == nil {
		return // a reference the loader could not resolve; it failed already
	}
	c.queue = append(c.queue, pair)
}

// compareNodes compares leaves by value and children one by one; a child on one side only is
// one difference, whatever it holds.
func (c *comparer) compareNodes(prefix string, a, b *node) {
	for _, key := range sortedKeys(a.leaves, b.leaves) {
		av, aok := a.leaves[key]
		bv, bok := b.leaves[key]
		switch {
		case !aok:
			av = Absent
		case !bok:
			bv = Absent
		}
		if av != bv || aok != bok {
			c.add(prefix+"."+key, av, bv)
		}
	}
	for _, key := range sortedKeys(a.children, b.children) {
		ac, aok := a.children[key]
		bc, bok := b.children[key]
		switch {
		case !aok:
			c.add(prefix+"."+key, Absent, Present)
		case !bok:
			c.add(prefix+"."+key, Present, Absent)
		case ac.node != nil && bc.node != nil:
			c.compareNodes(prefix+"."+key, ac.node, bc.node)
		default:
			c.compareSchemas(prefix+"."+key, ac.schema, bc.schema)
		}
	}
}

// compareSchemas compares two schemas, normalised. Two references to a component compare equal
// here, and the components are compared once, under "schema.<Name>"; a reference on one side
// and a schema written in place on the other are compared by what they describe.
func (c *comparer) compareSchemas(prefix string, a, b *openapi3.SchemaRef) {
	depth := strings.Count(prefix, ".")
	if depth > 4*maxDepth {
		c.add(prefix, "more than "+fmt.Sprint(4*maxDepth)+" levels deep", "not compared")
		return
	}
	as, bs := c.ours.shape(a, 0), c.upstream.shape(b, 0)
	switch {
	case as.ref != "" && bs.ref != "":
		c.enqueue(as.ref, bs.published)
	case as.ref != "":
		as = c.ours.inline(as, 0)
	case bs.ref != "":
		bs = c.upstream.inline(bs, 0)
	}
	c.compareNodes(prefix, as.n, bs.n)
}

// compareDocuments compares what the two documents say of every operation: the server URLs
// and the security required where an operation does not say otherwise (compared once here, not
// once per operation).
func (c *comparer) compareDocuments() {
	urls := func(d *Document) *node {
		n := newNode()
		for _, s := range d.t.Servers {
			if s != nil {
				n.children[strings.TrimSuffix(s.URL, "/")] = child{node: newNode()}
			}
		}
		return n
	}
	c.compareNodes("servers", urls(c.ours.doc), urls(c.upstream.doc))
	security := func(sd side) *node {
		n := newNode()
		if s := sd.security(nil); s != "" {
			n.leaves["security"] = s
		}
		return n
	}
	c.compareNodes("document", security(c.ours), security(c.upstream))
}

// compareOperation finds the published operation matching one of ours, by method and path or
// else by operationId, and compares the two.
func (c *comparer) compareOperation(op Operation) {
	prefix := "operation." + op.ID
	wantID := c.names.upstreamOperation(op.ID)
	theirs, ok := match(op, c.upstream.doc, c.names)
	if ok {
		c.matched[theirs.String()] = true
	}
	switch {
	case !ok:
		c.add(prefix, Present, Absent)
		return
	case theirs.Method != op.Method || theirs.Path != op.Path:
		c.add(prefix+".path", op.String(), theirs.String())
	case theirs.ID != wantID:
		c.add(prefix+".operationId", wantID, theirs.ID)
	}
	a, b := c.ours.operationNode(op), c.upstream.operationNode(theirs)
	if op.op.Security != nil || theirs.op.Security != nil {
		for _, s := range []struct {
			sd side
			n  *node
			op *openapi3.Operation
		}{{c.ours, a, op.op}, {c.upstream, b, theirs.op}} {
			if security := s.sd.security(s.op); security != "" {
				s.n.leaves["security"] = security
			}
		}
	}
	c.compareNodes(prefix, a, b)
}
