package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key as PEM
// files in dir and returns their paths and the certificate's pool.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relgraph test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS: serve with a certificate answers HTTPS, over HTTP/2
// when the client offers it, and the documented request works through
// it; backup -server takes the https:// URL (trusting a private CA by
// SSL_CERT_FILE); the files come from the environment too; a missing
// half or a bad file is refused before anything listens.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	srv := startServer(t, dir, "-example", "-db", "tls.db", "-tls-cert", certFile, "-tls-key", keyFile)
	if !strings.HasPrefix(srv.url, "https://") {
		t.Fatalf("announced %s", srv.url)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	body, err := os.ReadFile(filepath.Join(exampleDir, "edit.request.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Post(srv.url+"/api/v1.1/relations/edit", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.TLS == nil || !strings.Contains(string(raw), `"error":0`) {
		t.Fatalf("over TLS: %s %d %s", resp.Proto, resp.StatusCode, raw)
	}
	// Plain HTTP to the TLS port is refused, not served.
	plain, err := http.Get("http://" + strings.TrimPrefix(srv.url, "https://") + "/healthz")
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode != 400 {
			t.Fatalf("plain HTTP to the TLS port: %d", plain.StatusCode)
		}
	}
	// A client that does not trust the certificate is refused.
	if _, err := http.Get(srv.url + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("an untrusting client: %v", err)
	}
	// backup -server https://…, the private CA trusted by SSL_CERT_FILE.
	cmd := exec.Command(binary, "backup", "-server", srv.url, "-token", "abcdefghijklmnqrstuvwxyz", "-to", "hot.db")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+certFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("backup over https: %v\n%s", err, out)
	}
	if out, code := runTool(t, dir, "check", "-db", "hot.db"); code != 0 {
		t.Fatalf("check of the https backup: %s", out)
	}
	srv.stop(t)

	// From the environment, as every flag.
	cmd = exec.Command(binary, "serve", "-example", "-db", "env.db", "-addr", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "RELGRAPH_TLS_CERT="+certFile, "RELGRAPH_TLS_KEY=missing.pem")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "missing.pem") {
		t.Fatalf("a missing key file from the environment: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "env.db")); !os.IsNotExist(err) {
		t.Fatalf("a refused start left a store file: %v", err)
	}
	if out, code := runTool(t, dir, "serve", "-example", "-db", "half.db", "-addr", "127.0.0.1:0", "-tls-cert", certFile); code != 2 || !strings.Contains(out, "go together") {
		t.Fatalf("-tls-cert alone: %d %s", code, out)
	}
}
