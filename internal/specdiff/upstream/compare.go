package upstream

import (
	"fmt"
	"slices"
	"strings"
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

// Compare returns every difference between the spec (ours) and the published document
// (upstream) in the operations the spec has and the schemas they reach, sorted by key. Names
// says what the published document calls the operations and schemas it names differently.
func Compare(ours, upstream *Document, names Names) ([]Difference, error) {
	c := &comparer{
		ours:     side{doc: ours, name: func(name string) string { return name }},
		upstream: side{doc: upstream, name: names.oursSchema},
		names:    names,
		queued:   map[string]bool{},
	}
	c.compareServers()
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
	for len(c.queue) > 0 {
		name := c.queue[0]
		c.queue = c.queue[1:]
		prefix := "schema." + name
		theirs := upstream.schema(names.upstreamSchema(name))
		if theirs == nil {
			c.add(prefix, Present, Absent)
			continue
		}
		c.compareSchemas(prefix, ours.schema(name), theirs)
	}
	slices.SortFunc(c.diffs, func(a, b Difference) int { return strings.Compare(a.Key, b.Key) })
	return c.diffs, nil
}

// comparer walks the two documents side by side.
type comparer struct {
	ours, upstream side
	names          Names
	diffs          []Difference
	queued         map[string]bool // component schemas already queued, in the spec's names
	queue          []string
}

func (c *comparer) add(key, ours, upstream string) {
	c.diffs = append(c.diffs, Difference{Key: key, Ours: ours, Upstream: upstream})
}

// enqueue schedules the comparison of a component schema both documents refer to at the same
// place.
func (c *comparer) enqueue(name string) {
	if !c.queued[name] {
		c.queued[name] = true
		c.queue = append(c.queue, name)
	}
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

// compareSchemas compares two schemas. Two references to the same component schema compare
// equal here, and the component is compared once, under "schema.<Name>"; a reference on one
// side and a schema written in place on the other are compared by what they describe.
func (c *comparer) compareSchemas(prefix string, a, b any) {
	as, bs := normalizeSchema(a), normalizeSchema(b)
	aRef, bRef := c.ours.refName(as), c.upstream.refName(bs)
	switch {
	case aRef != "" && bRef == "":
		as = c.ours.inline(as)
	case aRef == "" && bRef != "":
		bs = c.upstream.inline(bs)
	case aRef != "" && aRef == bRef:
		c.enqueue(aRef)
	}
	c.ours.dropRedundantType(as)
	c.upstream.dropRedundantType(bs)
	c.compareNodes(prefix, c.ours.schemaNode(as), c.upstream.schemaNode(bs))
}

// compareServers compares the server URLs of the two documents.
func (c *comparer) compareServers() {
	urls := func(d *Document) *node {
		n := newNode()
		servers, _ := d.root["servers"].([]any)
		for _, s := range servers {
			if m, ok := s.(map[string]any); ok {
				n.children[format(m["url"])] = child{node: newNode()}
			}
		}
		return n
	}
	c.compareNodes("servers", urls(c.ours.doc), urls(c.upstream.doc))
}

// compareOperation finds the published operation matching one of ours, by method and path and
// by operationId, and compares the two.
func (c *comparer) compareOperation(op Operation) {
	prefix := "operation." + op.ID
	wantID := c.names.upstreamOperation(op.ID)
	theirs, ok := c.upstream.doc.operationAt(op.Method, op.Path)
	switch {
	case ok && theirs.ID != wantID:
		c.add(prefix+".operationId", wantID, theirs.ID)
	case !ok:
		if theirs, ok = c.upstream.doc.operationByID(wantID); !ok {
			c.add(prefix, Present, Absent)
			return
		}
		c.add(prefix+".path", op.String(), theirs.String())
	}
	a, err := c.ours.operationNode(op)
	if err != nil {
		c.add(prefix, "unreadable: "+err.Error(), Present)
		return
	}
	b, err := c.upstream.operationNode(theirs)
	if err != nil {
		c.add(prefix, Present, "unreadable: "+err.Error())
		return
	}
	c.compareNodes(prefix, a, b)
}
