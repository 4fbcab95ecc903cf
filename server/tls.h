/*
 * TLS for the amqps and admin HTTPS listeners: the server context built
 * from the tls-* options, reloaded on SIGHUP, and the per-session calls
 * server/io.c makes instead of read(2)/write(2) on a TLS socket. Only
 * tls.c includes OpenSSL headers; callers see a session as an opaque
 * struct ssl_st.
 */
#ifndef WARREN_SERVER_TLS_H
#define WARREN_SERVER_TLS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

struct config;
struct ssl_st;		/* OpenSSL's SSL */
struct tls;

/* What a non-blocking TLS call needs before it can make progress. */
enum tls_status {
	TLS_DONE,		/* finished (handshake) or moved bytes */
	TLS_WANT_READ,		/* call again once the socket is readable */
	TLS_WANT_WRITE,		/* call again once the socket is writable */
	TLS_CLOSED,		/* the peer sent close_notify or hung up */
	TLS_FAILED,		/* protocol or socket error; see tls_error() */
};

/* Whether cfg asks for a TLS listener (tls-cert and tls-key are set). */
bool	tls_configured(const struct config *cfg);

/*
 * Builds the server context from cfg's tls-* files: TLS 1.2 minimum,
 * ECDHE with AEAD ciphers for 1.2, OpenSSL's defaults for 1.3. NULL with
 * a reason in err on failure.
 */
struct tls *tls_new(const struct config *cfg, char *err, size_t errlen);
/*
 * Rebuilds the context from the same files and, on success, uses it for
 * new connections; sessions already open keep the old one (OpenSSL holds
 * a reference per session). On failure returns -1 with the reason in err
 * and keeps the old context.
 */
int	tls_reload(struct tls *t, const struct config *cfg, char *err,
	    size_t errlen);
void	tls_free(struct tls *t);

/* A server session on an accepted socket, or NULL (logged). */
struct ssl_st *tls_session_new(struct tls *t, int fd);
/*
 * Ends a session: sends close_notify if clean (best effort, never blocks)
 * and frees it. Safe with NULL.
 */
void	tls_session_free(struct ssl_st *ssl, bool clean);

/* One step of the server handshake (SSL_accept). */
enum tls_status	tls_handshake(struct ssl_st *ssl);
/*
 * Reads up to len decrypted bytes into p. Returns the count (> 0) with
 * TLS_DONE, else 0 with the status in *st.
 */
size_t	tls_read(struct ssl_st *ssl, void *p, size_t len,
	    enum tls_status *st);
/* Writes up to len bytes of p (partial writes allowed), as tls_read. */
size_t	tls_write(struct ssl_st *ssl, const void *p, size_t len,
	    enum tls_status *st);
/* Decrypted bytes already inside the session, readable without I/O. */
size_t	tls_pending(const struct ssl_st *ssl);
/* The reason for the last TLS_FAILED on this thread, for logs. */
const char	*tls_error(char *buf, size_t len);
/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for the log line after the handshake. */
const char	*tls_describe(const struct ssl_st *ssl, char *buf, size_t len);

/*
 * A finished session's parameters, lower-case as RabbitMQ shows them:
 * protocol ("tlsv1.3"), cipher ("aes_256_gcm"),
 * key exchange ("ecdhe", "any" under TLS 1.3) and hash ("sha384").
 */
struct tls_info {
	char	protocol[16];
	char	cipher[64];
	char	key_exchange[32];
	char	hash[32];
};
void	tls_session_info(const struct ssl_st *ssl, struct tls_info *ti);
/*
 * The notAfter time (seconds since the epoch) of each certificate in the
 * PEM file at path, up to max of them. Returns how many, or -1 if the
 * file cannot be read or holds no certificate.
 */
int	tls_cert_not_after(const char *path, int64_t *out, int max);

/*
 * The verified client certificate of a session, for SASL EXTERNAL: its
 * subject common name into cn and its whole subject as an RFC 2253 string
 * (e.g. "CN=alice,O=example") into dn; either buffer may be NULL.
 * Returns 0, or -1 if ssl is NULL, the peer sent no certificate, or the
 * certificate did not verify (tls-verify-peer off means none is asked
 * for). A subject without a CN gives cn "" and still returns 0.
 */
int	tls_peer_subject(const struct ssl_st *ssl, char *cn, size_t cnlen,
	    char *dn, size_t dnlen);

#endif /* WARREN_SERVER_TLS_H */
