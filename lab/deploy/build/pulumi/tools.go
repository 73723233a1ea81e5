//go:build tools

// Package tools makes `go mod tidy` keep the CLI's module graph in go.sum.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
