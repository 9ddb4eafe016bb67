package azdotest

import (
	"io"
	"net"
	"net/http"
)

// TunnelHandler is an HTTP proxy's handler that tunnels CONNECT to any host and refuses every
// other request: serve it with httptest to test a client going through HTTPS_PROXY.
func TunnelHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "not through this proxy", http.StatusForbidden)
			return
		}
		upstream, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer upstream.Close()
		client, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer client.Close()
		io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n")
		go io.Copy(upstream, client)
		io.Copy(client, upstream)
	})
}
