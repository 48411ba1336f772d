package upstream

import (
	"fmt"
	"slices"
	"strings"
)

// operationNode lays out an operation for comparison: its parameters (with those of its path),
// request body, responses and security.
func (sd side) operationNode(op Operation) (*node, error) {
	n := newNode()
	if deprecated, _ := op.raw["deprecated"].(bool); deprecated {
		n.leaves["deprecated"] = "true"
	}
	if security := sd.security(op.raw); security != "" {
		n.leaves["security"] = security
	}
	n.addRest(op.raw, "operationId", "parameters", "requestBody", "responses", "security", "deprecated")

	// An operation's parameter replaces the path's parameter of the same name and location.
	for _, list := range []any{op.pathItem["parameters"], op.raw["parameters"]} {
		items, _ := list.([]any)
		for _, item := range items {
			p, err := sd.doc.resolve(item)
			if err != nil {
				return nil, fmt.Errorf("parameter: %w", err)
			}
			pm, _ := p.(map[string]any)
			name := format(pm["name"])
			if pm["in"] == "header" {
				name = strings.ToLower(name)
			}
			n.children["parameters."+format(pm["in"])+"."+name] = child{node: sd.parameterNode(pm)}
		}
	}

	if raw, ok := op.raw["requestBody"]; ok {
		body, err := sd.doc.resolve(raw)
		if err != nil {
			return nil, fmt.Errorf("request body: %w", err)
		}
		bm, _ := body.(map[string]any)
		bn := newNode()
		if required, _ := bm["required"].(bool); required {
			bn.leaves["required"] = "true"
		}
		sd.addContent(bn, bm)
		bn.addRest(bm, "required", "content")
		n.children["requestBody"] = child{node: bn}
	}

	responses, _ := op.raw["responses"].(map[string]any)
	for code, raw := range responses {
		if ignored(code) {
			continue
		}
		resp, err := sd.doc.resolve(raw)
		if err != nil {
			return nil, fmt.Errorf("response %s: %w", code, err)
		}
		rm, _ := resp.(map[string]any)
		rn := newNode()
		sd.addContent(rn, rm)
		headers, _ := rm["headers"].(map[string]any)
		for name, raw := range headers {
			h, err := sd.doc.resolve(raw)
			if err != nil {
				return nil, fmt.Errorf("response %s header %s: %w", code, name, err)
			}
			hm, _ := h.(map[string]any)
			rn.children["headers."+strings.ToLower(name)] = child{node: sd.parameterNode(hm)}
		}
		rn.addRest(rm, "content", "headers", "links")
		n.children["responses."+code] = child{node: rn}
	}
	return n, nil
}

// parameterNode lays out a parameter or a header.
func (sd side) parameterNode(p map[string]any) *node {
	n := newNode()
	for _, key := range []string{"required", "deprecated", "allowEmptyValue", "explode"} {
		if v, ok := p[key].(bool); ok && (v || key == "explode") {
			n.leaves[key] = format(v)
		}
	}
	if style, ok := p["style"]; ok {
		n.leaves["style"] = format(style)
	}
	if schema, ok := p["schema"]; ok {
		n.children["schema"] = child{schema: schema}
	}
	sd.addContent(n, p)
	n.addRest(p, "name", "in", "required", "deprecated", "allowEmptyValue", "explode", "style", "schema", "content")
	return n
}

// addContent lays out the media types of a request body, response or parameter.
func (sd side) addContent(n *node, m map[string]any) {
	content, _ := m["content"].(map[string]any)
	for mediaType, raw := range content {
		mt, _ := raw.(map[string]any)
		mn := newNode()
		if schema, ok := mt["schema"]; ok {
			mn.children["schema"] = child{schema: schema}
		}
		encodings, _ := mt["encoding"].(map[string]any)
		for property, raw := range encodings {
			e, _ := raw.(map[string]any)
			for _, key := range []string{"contentType", "style", "explode", "allowReserved"} {
				if v, ok := e[key]; ok {
					mn.leaves["encoding."+property+"."+key] = format(v)
				}
			}
		}
		mn.addRest(mt, "schema", "encoding")
		n.children["content."+strings.ToLower(mediaType)] = child{node: mn}
	}
}

// security describes the security an operation requires, with the schemes written out (their
// names differ between documents): alternatives separated by " | ", schemes required together
// by " + ". It is empty when neither the operation nor the document requires any.
func (sd side) security(op map[string]any) string {
	raw, ok := op["security"]
	if !ok {
		raw = sd.doc.root["security"]
	}
	requirements, _ := raw.([]any)
	schemes := sd.doc.components("securitySchemes")
	var alternatives []string
	for _, r := range requirements {
		req, _ := r.(map[string]any)
		var together []string
		for name := range req {
			scheme, err := sd.doc.resolve(schemes[name])
			sm, _ := scheme.(map[string]any)
			if err != nil || sm == nil {
				together = append(together, "undefined "+name)
				continue
			}
			desc := format(sm["type"])
			switch desc {
			case "http":
				desc += " " + strings.ToLower(format(sm["scheme"]))
			case "apiKey":
				desc += " " + format(sm["in"]) + " " + format(sm["name"])
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
