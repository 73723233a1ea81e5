// Builds headscale for the direct-connection lab (see lab/tailscale/build.ts, WRAPPER_BUILDS): the Go
// proxy here refuses headscale's version list, which `go install pkg@version` needs.
module directpath.lab/headscale-build

go 1.26.4

require github.com/juanfont/headscale v0.29.2

require (
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/rs/zerolog v1.35.1 // indirect
	golang.org/x/sys v0.46.0 // indirect
)
