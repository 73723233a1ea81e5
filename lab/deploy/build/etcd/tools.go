//go:build tools

// Package tools makes `go mod tidy` keep etcd's module graph in go.sum.
package tools

import _ "go.etcd.io/etcd/server/v3"
