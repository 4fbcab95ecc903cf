#include "autoconf.h"

#include "server/tls.h"

#include <ctype.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lib/log.h"
#include "server/config.h"

/*
 * TLS 1.2: forward secrecy and AEAD only (ECDHE with AES-GCM or
 * ChaCha20-Poly1305). TLS 1.3 keeps OpenSSL's default suites, all AEAD.
 */
#define CIPHERS_TLS12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define SESSION_ID_CTX	"warren"	/* resumption with client certs */

struct tls {
	SSL_CTX	*ctx;		/* for new sessions; each session refs its own */
};

/* A path option is unset when empty or "none" (its documented default). */
static bool
path_set(const char *p)
{
	return p != NULL && p[0] != '\0' && strcmp(p, "none") != 0;
}

bool
tls_configured(const struct config *cfg)
{
	return path_set(cfg->tls_cert) || path_set(cfg->tls_key);
}

const char *
tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error(), sys = 0, x;
	const char *r;

	/* A failed fopen() is queued under the "system lib" error it causes. */
	while ((x = ERR_get_error()) != 0)
		if (ERR_GET_LIB(x) == ERR_LIB_SYS && sys == 0)
			sys = x;
	if (sys != 0)
		snprintf(buf, len, "%s", strerror(ERR_GET_REASON(sys)));
	else if (e == 0)
		snprintf(buf, len, "%s", errno ? strerror(errno) :
		    "connection closed");
	else if ((r = ERR_reason_error_string(e)) != NULL)
		snprintf(buf, len, "%s", r);
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* Fails the build of a context with "what: reason". */
static SSL_CTX *
ctx_fail(SSL_CTX *ctx, char *err, size_t errlen, const char *what,
    const char *path)
{
	char why[256];

	tls_error(why, sizeof(why));
	if (path != NULL)
		snprintf(err, errlen, "%s %s: %s", what, path, why);
	else
		snprintf(err, errlen, "%s: %s", what, why);
	SSL_CTX_free(ctx);
	return NULL;
}

static SSL_CTX *
ctx_build(const struct config *cfg, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) *cas;
	SSL_CTX *ctx;
	int mode = SSL_VERIFY_NONE;

	if (!path_set(cfg->tls_cert) || !path_set(cfg->tls_key)) {
		snprintf(err, errlen, "tls-cert and tls-key must both be set");
		return NULL;
	}
	if (cfg->tls_verify_peer && !path_set(cfg->tls_ca)) {
		snprintf(err, errlen, "tls-verify-peer needs tls-ca");
		return NULL;
	}
	ERR_clear_error();
	errno = 0;
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return ctx_fail(ctx, err, errlen, "SSL_CTX_new", NULL);
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, CIPHERS_TLS12))
		return ctx_fail(ctx, err, errlen, "protocol settings", NULL);
	/*
	 * No renegotiation (a TLS 1.2 write can then not need a read in the
	 * middle); a peer that hangs up without close_notify reads as EOF.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
	    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* io.c writes from a buffer that may move or grow between tries. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)
	    SESSION_ID_CTX, sizeof(SESSION_ID_CTX) - 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1)
		return ctx_fail(ctx, err, errlen, "tls-cert", cfg->tls_cert);
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key,
	    SSL_FILETYPE_PEM) != 1)
		return ctx_fail(ctx, err, errlen, "tls-key", cfg->tls_key);
	if (SSL_CTX_check_private_key(ctx) != 1)
		return ctx_fail(ctx, err, errlen, "tls-key", cfg->tls_key);
	if (path_set(cfg->tls_ca)) {
		if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca, NULL) != 1)
			return ctx_fail(ctx, err, errlen, "tls-ca", cfg->tls_ca);
		/* The CAs named in the certificate request. */
		if ((cas = SSL_load_client_CA_file(cfg->tls_ca)) == NULL)
			return ctx_fail(ctx, err, errlen, "tls-ca", cfg->tls_ca);
		SSL_CTX_set_client_CA_list(ctx, cas);	/* ctx owns cas */
	}
	/* compat: RabbitMQ ignores fail_if_no_peer_cert without verify_peer. */
	if (cfg->tls_verify_peer) {
		mode = SSL_VERIFY_PEER | SSL_VERIFY_CLIENT_ONCE;
		if (cfg->tls_fail_if_no_peer_cert)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	}
	SSL_CTX_set_verify(ctx, mode, NULL);
	return ctx;
}

struct tls *
tls_new(const struct config *cfg, char *err, size_t errlen)
{
	struct tls *t;

	if (cfg->tls_fail_if_no_peer_cert && !cfg->tls_verify_peer)
		log_warnx("tls: tls-fail-if-no-peer-cert has no effect "
		    "without tls-verify-peer");
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((t->ctx = ctx_build(cfg, err, errlen)) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

int
tls_reload(struct tls *t, const struct config *cfg, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = ctx_build(cfg, err, errlen)) == NULL)
		return -1;
	SSL_CTX_free(t->ctx);	/* open sessions still hold a reference */
	t->ctx = ctx;
	return 0;
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

struct ssl_st *
tls_session_new(struct tls *t, int fd)
{
	char why[256];
	SSL *ssl;

	ERR_clear_error();
	if ((ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		log_warnx("tls: cannot start a session: %s",
		    tls_error(why, sizeof(why)));
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_accept_state(ssl);
	return ssl;
}

void
tls_session_free(struct ssl_st *ssl, bool clean)
{
	if (ssl == NULL)
		return;
	/* One non-blocking try at close_notify; the socket closes anyway. */
	if (clean && SSL_is_init_finished(ssl)) {
		ERR_clear_error();
		(void)SSL_shutdown(ssl);
	}
	ERR_clear_error();
	SSL_free(ssl);
}

/* Maps the result rc of an SSL call to what the caller waits for. */
static enum tls_status
status(SSL *ssl, int rc)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_CLOSED;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && (errno == EAGAIN ||
		    errno == EINTR))
			return TLS_WANT_READ;	/* not expected; retry */
		if (ERR_peek_error() == 0 && errno == 0)
			return TLS_CLOSED;
		/* FALLTHROUGH */
	default:
		/* After a fatal error no close_notify may be sent. */
		SSL_set_quiet_shutdown(ssl, 1);
		return TLS_FAILED;
	}
}

enum tls_status
tls_handshake(struct ssl_st *ssl)
{
	int rc;

	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_accept(ssl)) == 1)
		return TLS_DONE;
	/* A handshake cut short is a failure, not a clean close. */
	return rc == 0 ? (SSL_set_quiet_shutdown(ssl, 1), TLS_FAILED) :
	    status(ssl, rc);
}

size_t
tls_read(struct ssl_st *ssl, void *p, size_t len, enum tls_status *st)
{
	size_t n = 0;
	int rc;

	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_read_ex(ssl, p, len, &n)) == 1) {
		*st = TLS_DONE;
		return n;
	}
	*st = status(ssl, rc);
	return 0;
}

size_t
tls_write(struct ssl_st *ssl, const void *p, size_t len, enum tls_status *st)
{
	size_t n = 0;
	int rc;

	ERR_clear_error();
	errno = 0;
	if ((rc = SSL_write_ex(ssl, p, len, &n)) == 1) {
		*st = TLS_DONE;
		return n;
	}
	*st = status(ssl, rc);
	return 0;
}

size_t
tls_pending(const struct ssl_st *ssl)
{
	int n = SSL_pending(ssl);

	return n > 0 ? (size_t)n : 0;
}

const char *
tls_describe(const struct ssl_st *ssl, char *buf, size_t len)
{
	snprintf(buf, len, "%s %s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
	return buf;
}

static void
lower_copy(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < len; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

void
tls_session_info(const struct ssl_st *ssl, struct tls_info *ti)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	const EVP_MD *md;
	const char *kx;
	int nid;

	memset(ti, 0, sizeof(*ti));
	lower_copy(ti->protocol, sizeof(ti->protocol), SSL_get_version(ssl));
	if (c == NULL)
		return;
	/* compat: the bulk cipher as Erlang names it: "aes_256_gcm". */
	nid = SSL_CIPHER_get_cipher_nid(c);
	lower_copy(ti->cipher, sizeof(ti->cipher), nid == NID_undef ?
	    SSL_CIPHER_get_name(c) : OBJ_nid2ln(nid));
	for (char *p = ti->cipher; *p != '\0'; p++)
		if (*p == '-')
			*p = '_';
	nid = SSL_CIPHER_get_kx_nid(c);
	kx = nid == NID_undef ? NULL : OBJ_nid2sn(nid);
	/* "KxANY" (TLS 1.3) and "KxECDHE": RabbitMQ shows "any", "ecdhe". */
	if (kx != NULL && strncmp(kx, "Kx", 2) == 0)
		kx += 2;
	lower_copy(ti->key_exchange, sizeof(ti->key_exchange), kx);
	if ((md = SSL_CIPHER_get_handshake_digest(c)) != NULL)
		lower_copy(ti->hash, sizeof(ti->hash), EVP_MD_get0_name(md));
}

int
tls_cert_not_after(const char *path, int64_t *out, int max)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	int n = 0;

	if (f == NULL)
		return -1;
	while (n < max && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		struct tm tm;

		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
			out[n++] = (int64_t)timegm(&tm);
		X509_free(x);
	}
	fclose(f);
	ERR_clear_error();
	return n > 0 ? n : -1;
}

/* Copies a string of n bytes as a C string; -1 if it has a NUL or is long. */
static int
copy_out(char *dst, size_t dstlen, const char *src, size_t n)
{
	if (dst == NULL)
		return 0;
	if (n >= dstlen || memchr(src, '\0', n) != NULL)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int
tls_peer_subject(const struct ssl_st *ssl, char *cn, size_t cnlen, char *dn,
    size_t dnlen)
{
	const X509_NAME *name;
	X509 *x;
	BIO *mem = NULL;
	unsigned char *u = NULL;
	char *p;
	long n;
	int i, len, rc = -1;

	if (ssl == NULL || !SSL_is_init_finished(ssl) ||
	    (x = SSL_get0_peer_certificate(ssl)) == NULL ||
	    SSL_get_verify_result(ssl) != X509_V_OK ||
	    !(SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER))
		return -1;
	name = X509_get_subject_name(x);
	if (cn != NULL && cnlen > 0)
		cn[0] = '\0';
	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) >= 0) {
		len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(
		    X509_NAME_get_entry(name, i)));
		if (len < 0 || copy_out(cn, cnlen, (char *)u, (size_t)len) != 0)
			goto out;
	}
	if (dn != NULL) {
		/* RFC 2253 order and escaping, UTF-8 left as is. */
		if ((mem = BIO_new(BIO_s_mem())) == NULL ||
		    X509_NAME_print_ex(mem, name, 0,
		    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0 ||
		    (n = BIO_get_mem_data(mem, &p)) < 0 ||
		    copy_out(dn, dnlen, p, (size_t)n) != 0)
			goto out;
	}
	rc = 0;
out:
	OPENSSL_free(u);
	BIO_free(mem);
	ERR_clear_error();
	return rc;
}
