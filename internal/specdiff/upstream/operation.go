package upstream

import (
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// operationNode lays out an operation for comparison: its parameters (with those of its path),
// request body and responses. Its security is added by the comparer, only where it is not the
// document's.
func (sd side) operationNode(op Operation) *node {
	n := newNode()
	o := op.op
	if o.Deprecated {
		n.leaves["deprecated"] = "true"
	}
	if o.Servers != nil {
		for _, server := range *o.Servers {
			n.leaves["servers."+strings.TrimSuffix(server.URL, "/")] = Present
		}
	}
	for name := range o.Callbacks {
		n.leaves["callbacks."+name] = Present
	}
	n.addExtensions(o.Extensions)
	if sd.docs {
		addText(n, "summary", o.Summary)
		addText(n, "description", o.Description)
	}

	// An operation's parameter replaces the path's parameter of the same name and location.
	for _, list := range []openapi3.Parameters{op.item.Parameters, o.Parameters} {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				continue
			}
			p := ref.Value
			name := p.Name
			if p.In == openapi3.ParameterInHeader {
				name = strings.ToLower(name)
			}
			n.children["parameters."+p.In+"."+name] = child{node: sd.parameterNode(p)}
		}
	}

	if o.RequestBody != nil && o.RequestBody.Value != nil {
		body := o.RequestBody.Value
		bn := newNode()
		if body.Required {
			bn.leaves["required"] = "true"
		}
		sd.addContent(bn, body.Content)
		bn.addExtensions(body.Extensions)
		if sd.docs {
			addText(bn, "description", body.Description)
		}
		n.children["requestBody"] = child{node: bn}
	}

	if o.Responses != nil {
		for code, ref := range o.Responses.Map() {
			if ref == nil || ref.Value == nil {
				continue
			}
			resp := ref.Value
			rn := newNode()
			sd.addContent(rn, resp.Content)
			for name, h := range resp.Headers {
				if h != nil && h.Value != nil {
					rn.children["headers."+strings.ToLower(name)] = child{node: sd.parameterNode(&h.Value.Parameter)}
				}
			}
			for name := range resp.Links {
				rn.leaves["links."+name] = Present
			}
			rn.addExtensions(resp.Extensions)
			if sd.docs && resp.Description != nil {
				addText(rn, "description", *resp.Description)
			}
			n.children["responses."+code] = child{node: rn}
		}
	}
	return n
}

// parameterNode lays out a parameter or a header. Style and explode are compared as they take
// effect, so that a default written out equals the default left out.
func (sd side) parameterNode(p *openapi3.Parameter) *node {
	n := newNode()
	flags := map[string]bool{"required": p.Required, "deprecated": p.Deprecated,
		"allowEmptyValue": p.AllowEmptyValue, "allowReserved": p.AllowReserved}
	for key, v := range flags {
		if v {
			n.leaves[key] = "true"
		}
	}
	style := p.Style
	if style == "" {
		style = openapi3.SerializationSimple
		if p.In == openapi3.ParameterInQuery || p.In == openapi3.ParameterInCookie {
			style = openapi3.SerializationForm
		}
	}
	explode := style == openapi3.SerializationForm
	if p.Explode != nil {
		explode = *p.Explode
	}
	n.leaves["style"] = style
	n.leaves["explode"] = strconv.FormatBool(explode)
	if p.Schema != nil {
		n.children["schema"] = child{schema: p.Schema}
	}
	sd.addContent(n, p.Content)
	n.addExtensions(p.Extensions)
	if sd.docs {
		addText(n, "description", p.Description)
	}
	return n
}

// addContent lays out the media types of a request body, response or parameter.
func (sd side) addContent(n *node, content openapi3.Content) {
	for mediaType, mt := range content {
		if mt == nil {
			continue
		}
		mn := newNode()
		if mt.Schema != nil {
			mn.children["schema"] = child{schema: mt.Schema}
		}
		for property, e := range mt.Encoding {
			if e == nil {
				continue
			}
			prefix := "encoding." + property + "."
			if e.ContentType != "" {
				mn.leaves[prefix+"contentType"] = e.ContentType
			}
			if e.Style != "" {
				mn.leaves[prefix+"style"] = e.Style
			}
			if e.Explode != nil {
				mn.leaves[prefix+"explode"] = strconv.FormatBool(*e.Explode)
			}
			if e.AllowReserved {
				mn.leaves[prefix+"allowReserved"] = "true"
			}
			for name := range e.Headers {
				mn.leaves[prefix+"headers."+strings.ToLower(name)] = Present
			}
		}
		mn.addExtensions(mt.Extensions)
		n.children["content."+strings.ToLower(mediaType)] = child{node: mn}
	}
}

// security describes the security an operation requires (the document's, for nil), with the
// schemes written out (their names differ between documents): alternatives separated by " | ",
// schemes required together by " + ". It is empty when neither the operation nor the document
// requires any.
func (sd side) security(op *openapi3.Operation) string {
	requirements := sd.doc.t.Security
	if op != nil && op.Security != nil {
		requirements = *op.Security
	}
	var schemes openapi3.SecuritySchemes
	if sd.doc.t.Components != nil {
		schemes = sd.doc.t.Components.SecuritySchemes
	}
	var alternatives []string
	for _, req := range requirements {
		var together []string
		for name := range req {
			ref := schemes[name]
			if ref == nil || ref.Value == nil {
				together = append(together, "undefined "+name)
				continue
			}
			s := ref.Value
			desc := s.Type
			switch s.Type {
			case "http":
				desc += " " + strings.ToLower(s.Scheme)
			case "apiKey":
				desc += " " + s.In + " " + s.Name
			}
			together = append(together, desc)
		}
		slices.Sort(together)
		if len(together) == 0 {
			together = []string{"none"}
		}
		alternatives = append(alternatives, strings.Join(together, " + "))
	}
	slices.Sort(alternatives)
	return strings.Join(alternatives, " | ")
}
