package uploads

// The generated code in gen/ comes from openapi/uploads.yaml and the generator configs beside it.
// Run `go generate ./...` (or `make generate`) after changing either; never edit gen/ by hand.

//go:generate go tool oapi-codegen -config openapi/codegen-models.yaml openapi/uploads.yaml
//go:generate go tool oapi-codegen -config openapi/codegen-client.yaml openapi/uploads.yaml
//go:generate go tool oapi-codegen -config openapi/codegen-server.yaml openapi/uploads.yaml
