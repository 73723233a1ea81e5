// Command pulumi-resource-kubernetes serves the Pulumi Kubernetes provider (see go.mod for why
// this wrapper has its own main). The version is set at link time with
// -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=<the npm SDK's version>.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
