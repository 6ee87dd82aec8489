// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * TLS 1.3 with an external PSK under the session protocol (see
 * session-tls.h).  The record protection, the key schedule and the
 * (EC)DHE exchange are OpenSSL's; this file only sets it up (one suite,
 * TLS 1.3 only, no tickets, no certificates), derives the PSK from the key
 * file and the identity, and maps OpenSSL's errors to errno.
 *
 * OpenSSL 3 is loaded with dlopen("libssl.so.3") on first use.  Measured
 * (perf stat -r 200, this 2-core VM): a static binary that links libssl.a
 * and libcrypto.a without calling them starts in 1.8-2.1 ms and 40 page
 * faults against 1.0 ms and 26 for the same binary without them, a cost
 * every `qvmi` run would pay.  A static glibc's dlopen() needs the same
 * glibc at run time, which the Debian package's libssl3 has.
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include "proto/session-tls.h"

static const char psk_label[] = "qvmi-session/1 tls psk";
/* TLS_AES_128_GCM_SHA256 (RFC 8446 B.4): AES-NI makes it the fastest. */
static const unsigned char suite_id[2] = { 0x13, 0x01 };

/* ---- identities (pure: fuzzed) ------------------------------------------ */

/* Lowercase only, unlike qvmi__hexval: an identity has one spelling, so
 * that it renders back to exactly the bytes the PSK was derived from. */
static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int qvmi__ses_tls_id_parse(const uint8_t *id, size_t len,
			   struct qvmi_ses_tls_id *ret, const char **why)
{
	const size_t tl = sizeof(QVMI_SES_TLS_ID_TOOL) - 1;
	const size_t vl = sizeof(QVMI_SES_TLS_ID_VM) - 1;
	const char *w = NULL;

	memset(ret, 0, sizeof(*ret));
	if (len == tl && !memcmp(id, QVMI_SES_TLS_ID_TOOL, tl))
		return 0;
	if (len > QVMI_SES_TLS_ID_MAX)
		w = "identity too long";
	else if (len < vl + 33 || memcmp(id, QVMI_SES_TLS_ID_VM, vl))
		w = "not a qvmi identity";
	else if (id[vl + 32] != ' ')
		w = "no space after the uuid";
	for (size_t i = 0; !w && i < 16; i++) {
		int hi = hexval(id[vl + 2 * i]),
		    lo = hexval(id[vl + 2 * i + 1]);

		if (hi < 0 || lo < 0)
			w = "uuid is not 32 lowercase hex digits";
		else
			ret->uuid[i] = (uint8_t)(hi << 4 | lo);
	}
	for (size_t i = vl + 33; !w && i < len; i++)
		if (id[i] < 0x20 || id[i] == 0x7f)
			w = "control character in the name";
	if (w) {
		if (why)
			*why = w;
		memset(ret, 0, sizeof(*ret));
		return -EINVAL;
	}
	ret->vm = true;
	memcpy(ret->name, id + vl + 33, len - vl - 33);
	return 0;
}

int qvmi__ses_tls_id_vm(char *buf, const uint8_t uuid[16], const char *name)
{
	size_t nl = strlen(name), o = sizeof(QVMI_SES_TLS_ID_VM) - 1;

	if (nl > QVMI_SES_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < nl; i++)
		if ((uint8_t)name[i] < 0x20 || name[i] == 0x7f)
			return -EINVAL;
	memcpy(buf, QVMI_SES_TLS_ID_VM, o);
	for (int i = 0; i < 16; i++, o += 2)
		snprintf(buf + o, 3, "%02x", uuid[i]);
	buf[o++] = ' ';
	memcpy(buf + o, name, nl + 1);
	return 0;
}

/* ---- libssl, loaded once --------------------------------------------------- */

#define FN(n) __typeof__(n) *n
static struct {
	FN(OPENSSL_init_ssl);
	FN(TLS_method);
	FN(SSL_CTX_new);
	FN(SSL_CTX_ctrl);
	FN(SSL_CTX_set_ciphersuites);
	FN(SSL_CTX_set_options);
	FN(SSL_CTX_set_num_tickets);
	FN(SSL_new);
	FN(SSL_free);
	FN(SSL_set_fd);
	FN(SSL_set_connect_state);
	FN(SSL_set_accept_state);
	FN(SSL_do_handshake);
	FN(SSL_read_ex);
	FN(SSL_write_ex);
	FN(SSL_get_error);
	FN(SSL_pending);
	FN(SSL_has_pending);
	FN(SSL_set_ex_data);
	FN(SSL_get_ex_data);
	FN(SSL_set_psk_use_session_callback);
	FN(SSL_set_psk_find_session_callback);
	FN(SSL_SESSION_new);
	FN(SSL_SESSION_free);
	FN(SSL_SESSION_set1_master_key);
	FN(SSL_SESSION_set_cipher);
	FN(SSL_SESSION_set_protocol_version);
	FN(SSL_CIPHER_find);
	FN(SSL_CIPHER_get_handshake_digest);
	FN(ERR_get_error);
	FN(ERR_error_string_n);
	FN(ERR_clear_error);
	FN(HMAC);
	FN(EVP_sha256);
	FN(OPENSSL_cleanse);
} ssl;
#undef FN

static pthread_once_t ssl_once = PTHREAD_ONCE_INIT;
static const char *ssl_fail; /* NULL: loaded */
/* One context for every connection, either side: building one fetches
 * every algorithm from OpenSSL 3's providers (the slow part of a first
 * connection, seconds under valgrind).  An SSL_CTX is safe to share
 * between threads once set up. */
static SSL_CTX *ssl_ctx;

static int ctx_setup(void);

static void ssl_load(void)
{
	void *h = dlopen("libssl.so.3", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		ssl_fail = "cannot load libssl.so.3 (install libssl3)";
		return;
	}
#define L(n)                                                \
	do {                                                \
		*(void **)&ssl.n = dlsym(h, #n);            \
		if (!ssl.n) {                               \
			ssl_fail = "libssl.so.3 lacks " #n; \
			return;                             \
		}                                           \
	} while (0)
	L(OPENSSL_init_ssl);
	L(TLS_method);
	L(SSL_CTX_new);
	L(SSL_CTX_ctrl);
	L(SSL_CTX_set_ciphersuites);
	L(SSL_CTX_set_options);
	L(SSL_CTX_set_num_tickets);
	L(SSL_new);
	L(SSL_free);
	L(SSL_set_fd);
	L(SSL_set_connect_state);
	L(SSL_set_accept_state);
	L(SSL_do_handshake);
	L(SSL_read_ex);
	L(SSL_write_ex);
	L(SSL_get_error);
	L(SSL_pending);
	L(SSL_has_pending);
	L(SSL_set_ex_data);
	L(SSL_get_ex_data);
	L(SSL_set_psk_use_session_callback);
	L(SSL_set_psk_find_session_callback);
	L(SSL_SESSION_new);
	L(SSL_SESSION_free);
	L(SSL_SESSION_set1_master_key);
	L(SSL_SESSION_set_cipher);
	L(SSL_SESSION_set_protocol_version);
	L(SSL_CIPHER_find);
	L(SSL_CIPHER_get_handshake_digest);
	L(ERR_get_error);
	L(ERR_error_string_n);
	L(ERR_clear_error);
	L(HMAC);
	L(EVP_sha256);
	L(OPENSSL_cleanse);
#undef L
	/* No openssl.cnf: its providers or engines would change what a
	 * session negotiates, and a static qvmi cannot load modules. */
	if (!ssl.OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL))
		ssl_fail = "OpenSSL failed to initialise";
	else if (ctx_setup())
		ssl_fail = "OpenSSL could not set up TLS 1.3 with a PSK";
}

/* ---- one connection ------------------------------------------------------------ */

struct qvmi_ses_tls {
	SSL *ssl;
	enum qvmi_ses_tls_mode mode;
	bool want_vm;
	bool bad_id; /* a server refused the client's identity */
	/* A server with per-VM keys (>= 0: the key directory, not ours):
	 * the key is the one of the client's uuid, loaded in find_cb. */
	int keydir;
	bool no_key; /* the client's uuid has no usable key */
	char key_why[96];
	/* The last read wanted socket bytes: what is buffered is at most
	 * part of a record (read-ahead). */
	bool starved;
	uint8_t key[QVMI_SES_KEY_MAX];
	size_t key_len;
	char id[QVMI_SES_TLS_ID_MAX + 1]; /* a client's */
	struct qvmi_ses_tls_id peer; /* a server's view of the client */
	char why[256];
};

static int derive_psk(struct qvmi_ses_tls *t, const uint8_t *id, size_t idlen,
		      uint8_t psk[32])
{
	uint8_t msg[sizeof(psk_label) + QVMI_SES_TLS_ID_MAX];
	unsigned int n = 0;

	/* The label's NUL separates it from the identity. */
	memcpy(msg, psk_label, sizeof(psk_label));
	memcpy(msg + sizeof(psk_label), id, idlen);
	if (!ssl.HMAC(ssl.EVP_sha256(), t->key, (int)t->key_len, msg,
		      sizeof(psk_label) + idlen, psk, &n) ||
	    n != 32)
		return -EIO;
	return 0;
}

/* A resumption-less TLS 1.3 session carrying psk, for OpenSSL's PSK
 * callbacks (it takes ownership). */
static SSL_SESSION *psk_session(SSL *s, const uint8_t psk[32])
{
	const SSL_CIPHER *c = ssl.SSL_CIPHER_find(s, suite_id);
	SSL_SESSION *sess = c ? ssl.SSL_SESSION_new() : NULL;

	if (sess &&
	    (!ssl.SSL_SESSION_set1_master_key(sess, psk, 32) ||
	     !ssl.SSL_SESSION_set_cipher(sess, c) ||
	     !ssl.SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION))) {
		ssl.SSL_SESSION_free(sess);
		sess = NULL;
	}
	return sess;
}

static int use_cb(SSL *s, const EVP_MD *md, const unsigned char **id,
		  size_t *idlen, SSL_SESSION **sess)
{
	struct qvmi_ses_tls *t = ssl.SSL_get_ex_data(s, 0);
	const SSL_CIPHER *c = ssl.SSL_CIPHER_find(s, suite_id);
	uint8_t psk[32];

	*sess = NULL;
	if (!c || (md && md != ssl.SSL_CIPHER_get_handshake_digest(c)))
		return 1; /* no usable PSK: the handshake fails */
	if (derive_psk(t, (const uint8_t *)t->id, strlen(t->id), psk))
		return 0;
	*sess = psk_session(s, psk);
	ssl.OPENSSL_cleanse(psk, sizeof(psk));
	*id = (const unsigned char *)t->id;
	*idlen = strlen(t->id);
	return *sess != NULL;
}

/*
 * Per-VM keys: the key of the uuid the client claims.  A uuid without a
 * usable key gets a random one, so that the client's binder fails exactly
 * as with a wrong key (the same alert): a dialler cannot tell which uuids
 * have keys here.
 */
static int vm_key(struct qvmi_ses_tls *t)
{
	struct qvmi_ses_key k = { 0 };
	const char *why = "?";
	int err = qvmi__ses_keydir_load(t->keydir, t->peer.uuid, &k, &why);

	t->no_key = err != 0;
	if (err) {
		snprintf(t->key_why, sizeof(t->key_why), "%s", why);
		t->key_len = QVMI_SES_NONCE;
		return qvmi__ses_nonce(t->key);
	}
	memcpy(t->key, k.bytes, k.len);
	t->key_len = k.len;
	qvmi__ses_key_clear(&k);
	return 0;
}

static int find_cb(SSL *s, const unsigned char *id, size_t idlen,
		   SSL_SESSION **sess)
{
	struct qvmi_ses_tls *t = ssl.SSL_get_ex_data(s, 0);
	const char *why = "?";
	uint8_t psk[32];

	*sess = NULL;
	if (qvmi__ses_tls_id_parse(id, idlen, &t->peer, &why) ||
	    t->peer.vm != t->want_vm) {
		/* No PSK for it: without a certificate the handshake fails. */
		t->bad_id = true;
		return 1;
	}
	if (t->keydir >= 0 && vm_key(t))
		return 0;
	if (derive_psk(t, id, idlen, psk))
		return 0;
	*sess = psk_session(s, psk);
	ssl.OPENSSL_cleanse(psk, sizeof(psk));
	return *sess != NULL;
}

static int ctx_setup(void)
{
	SSL_CTX *c = ssl.SSL_CTX_new(ssl.TLS_method());

	ssl_ctx = c;
	if (!c ||
	    !ssl.SSL_CTX_ctrl(c, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_3_VERSION,
			      NULL) ||
	    !ssl.SSL_CTX_ctrl(c, SSL_CTRL_SET_MAX_PROTO_VERSION, TLS1_3_VERSION,
			      NULL) ||
	    !ssl.SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256") ||
	    !ssl.SSL_CTX_set_num_tickets(c, 0))
		return -EIO;
	/* The server's output buffer grows (realloc) while a partial write
	 * waits for the socket; its length only grows. */
	ssl.SSL_CTX_ctrl(c, SSL_CTRL_MODE,
			 SSL_MODE_ENABLE_PARTIAL_WRITE |
				 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER,
			 NULL);
	ssl.SSL_CTX_ctrl(c, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF,
			 NULL);
	/* A record's header and body in one read(2), not two: a round trip
	 * has two records, and a syscall costs ~2.5 us here. */
	ssl.SSL_CTX_ctrl(c, SSL_CTRL_SET_READ_AHEAD, 1, NULL);
	/* Frames carry their length: a cut stream is seen there.  No
	 * resumption (each connection gets its own ECDHE). */
	ssl.SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF |
					   SSL_OP_NO_TICKET);
	return 0;
}

static int ssl_setup(struct qvmi_ses_tls *t)
{
	t->ssl = ssl.SSL_new(ssl_ctx);
	if (!t->ssl || !ssl.SSL_set_ex_data(t->ssl, 0, t))
		return -EIO;
	if (t->mode == QVMI_SES_TLS_CLIENT) {
		ssl.SSL_set_psk_use_session_callback(t->ssl, use_cb);
		ssl.SSL_set_connect_state(t->ssl);
	} else {
		ssl.SSL_set_psk_find_session_callback(t->ssl, find_cb);
		ssl.SSL_set_accept_state(t->ssl);
	}
	return 0;
}

/* key NULL: a server with per-VM keys in keydir. */
static int tls_new(int fd, enum qvmi_ses_tls_mode mode,
		   const struct qvmi_ses_key *key, int keydir,
		   const char *identity, bool want_vm,
		   struct qvmi_ses_tls **ret, const char **why)
{
	struct qvmi_ses_tls *t;

	pthread_once(&ssl_once, ssl_load);
	if (ssl_fail) {
		*why = ssl_fail;
		return -ENOPKG;
	}
	if ((key ? !key->bytes || key->len > QVMI_SES_KEY_MAX : keydir < 0) ||
	    (mode == QVMI_SES_TLS_CLIENT &&
	     (!key || !identity || strlen(identity) > QVMI_SES_TLS_ID_MAX))) {
		*why = "no key or a bad identity";
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		*why = "out of memory";
		return -ENOMEM;
	}
	t->mode = mode;
	t->want_vm = want_vm;
	t->keydir = key ? -1 : keydir;
	if (key) {
		memcpy(t->key, key->bytes, key->len);
		t->key_len = key->len;
	}
	if (identity)
		snprintf(t->id, sizeof(t->id), "%s", identity);
	ssl.ERR_clear_error();
	if (ssl_setup(t) || !ssl.SSL_set_fd(t->ssl, fd)) {
		qvmi__ses_tls_free(t);
		*why = "OpenSSL could not set up the connection";
		return -EIO;
	}
	*ret = t;
	return 0;
}

int qvmi__ses_tls_new(int fd, enum qvmi_ses_tls_mode mode,
		      const struct qvmi_ses_key *key, const char *identity,
		      bool want_vm, struct qvmi_ses_tls **ret, const char **why)
{
	return tls_new(fd, mode, key, -1, identity, want_vm, ret, why);
}

int qvmi__ses_tls_new_keydir(int fd, int keydir, struct qvmi_ses_tls **ret,
			     const char **why)
{
	return tls_new(fd, QVMI_SES_TLS_SERVER, NULL, keydir, NULL, true, ret,
		       why);
}

int qvmi__ses_tls_key(const struct qvmi_ses_tls *t, struct qvmi_ses_key *ret)
{
	if (t->no_key || !t->key_len)
		return -EACCES;
	return qvmi__ses_key_set(ret, t->key, t->key_len);
}

void qvmi__ses_tls_free(struct qvmi_ses_tls *t)
{
	if (!t)
		return;
	if (t->ssl)
		ssl.SSL_free(t->ssl);
	ssl.OPENSSL_cleanse(t->key, sizeof(t->key));
	free(t);
}

/* Record OpenSSL's reason; its number (ERR_GET_REASON), 0 if none. */
static int take_err(struct qvmi_ses_tls *t, const char *what)
{
	unsigned long e = ssl.ERR_get_error(), last = e;
	char buf[120] = "";

	while (e) { /* keep the first, drain the rest */
		e = ssl.ERR_get_error();
	}
	if (last)
		ssl.ERR_error_string_n(last, buf, sizeof(buf));
	snprintf(t->why, sizeof(t->why), "%s%s%s", what, *buf ? ": " : "", buf);
	return last ? ERR_GET_REASON(last) : 0;
}

/* A failed handshake's errno from OpenSSL's reason. */
static int tls_verdict(int reason)
{
	if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return -ECONNRESET;
	/* Our PSK's binder did not verify (wrong key), or the peer said so
	 * with an alert (OpenSSL reports alerts as reason 1000 + alert). */
	if (reason == SSL_R_BINDER_DOES_NOT_VERIFY ||
	    reason == SSL_AD_REASON_OFFSET + SSL_AD_DECRYPT_ERROR ||
	    reason == SSL_AD_REASON_OFFSET + SSL_AD_HANDSHAKE_FAILURE ||
	    reason == SSL_AD_REASON_OFFSET + SSL_AD_ILLEGAL_PARAMETER)
		return -EACCES;
	return -EPROTO;
}

/* Per-VM keys: a failure after the client named a VM says which uuid. */
static int keydir_fail(struct qvmi_ses_tls *t, int err)
{
	char u[33], w[sizeof(t->why)];

	for (int i = 0; i < 16; i++)
		snprintf(u + 2 * i, 3, "%02x", t->peer.uuid[i]);
	snprintf(w, sizeof(w), "%s", t->why);
	if (t->no_key)
		snprintf(t->why, sizeof(t->why),
			 "no usable key for VM %s in the key directory "
			 "(%s.key: %s)",
			 u, u, t->key_why);
	else if (err == -EACCES)
		snprintf(t->why, sizeof(t->why),
			 "VM %s did not prove the key of that uuid (%.120s)", u,
			 w);
	else
		snprintf(t->why, sizeof(t->why), "VM %s: %.150s", u, w);
	return t->no_key ? -EACCES : err;
}

int qvmi__ses_tls_handshake(struct qvmi_ses_tls *t, short *events)
{
	int r, e, err;

	ssl.ERR_clear_error();
	r = ssl.SSL_do_handshake(t->ssl);
	if (r == 1)
		return 0;
	e = ssl.SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return -EAGAIN;
	}
	if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
		take_err(t, "the peer closed during the TLS handshake");
		err = -ECONNRESET;
	} else {
		err = tls_verdict(take_err(t, "TLS handshake failed"));
		if (t->bad_id) {
			snprintf(t->why, sizeof(t->why),
				 "TLS: the peer's PSK identity "
				 "is not accepted here");
			return -EACCES;
		}
	}
	return t->keydir >= 0 && t->peer.vm ? keydir_fail(t, err) : err;
}

static ssize_t io_fail(struct qvmi_ses_tls *t, int r, short *events)
{
	int e = ssl.SSL_get_error(t->ssl, r);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return -EAGAIN;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return 0;
	if (e == SSL_ERROR_SYSCALL) {
		take_err(t, "connection failed");
		return -EPIPE;
	}
	take_err(t, "TLS record rejected");
	return -EPROTO;
}

ssize_t qvmi__ses_tls_read(struct qvmi_ses_tls *t, void *buf, size_t len,
			   short *events)
{
	size_t n = 0;
	int r;

	ssl.ERR_clear_error();
	r = ssl.SSL_read_ex(t->ssl, buf, len, &n);
	t->starved = r != 1;
	return r == 1 ? (ssize_t)n : io_fail(t, r, events);
}

ssize_t qvmi__ses_tls_write(struct qvmi_ses_tls *t, const void *buf, size_t len,
			    short *events)
{
	size_t n = 0;
	int r;

	ssl.ERR_clear_error();
	r = ssl.SSL_write_ex(t->ssl, buf, len, &n);
	if (r == 1)
		return (ssize_t)n;
	r = (int)io_fail(t, r, events);
	return r ? r : -EPIPE; /* a write never sees EOF as 0 */
}

bool qvmi__ses_tls_pending(struct qvmi_ses_tls *t)
{
	/* Decrypted bytes, or (read-ahead) whole records not decrypted yet.
	 * After a read that wanted more from the socket, the buffer holds
	 * part of a record only: the socket says when the rest comes. */
	return t && (ssl.SSL_pending(t->ssl) > 0 ||
		     (!t->starved && ssl.SSL_has_pending(t->ssl)));
}

const struct qvmi_ses_tls_id *qvmi__ses_tls_peer(const struct qvmi_ses_tls *t)
{
	return &t->peer;
}

const char *qvmi__ses_tls_why(const struct qvmi_ses_tls *t)
{
	return t ? t->why : "";
}
