// Builds headscale for the direct-connection lab (see lab/tailscale/run.ts, WRAPPER_BUILDS): the Go
// proxy here refuses headscale's version list, which `go install pkg@version` needs.
module directpath.lab/headscale-build

go 1.26.4

require github.com/juanfont/headscale v0.29.1
