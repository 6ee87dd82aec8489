// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session authentication with OpenSSL's libcrypto: HMAC-SHA256 (EVP_MAC),
 * RAND_bytes nonces and CRYPTO_memcmp.  The key file is checked like ssh
 * checks a private key: ours, not readable by anyone else.
 */
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/session-auth.h"

static const char label_client[] = "qvmi-session/1 client";
static const char label_server[] = "qvmi-session/1 server";

int qvmi_ses_key_set(struct qvmi_ses_key *k, const void *bytes, size_t len)
{
	uint8_t *b;

	if (len < QVMI_SES_KEY_MIN || len > QVMI_SES_KEY_MAX)
		return -EINVAL;
	b = malloc(len);
	if (!b)
		return -ENOMEM;
	memcpy(b, bytes, len);
	qvmi_ses_key_clear(k);
	k->bytes = b;
	k->len = len;
	return 0;
}

void qvmi_ses_key_clear(struct qvmi_ses_key *k)
{
	if (k->bytes) {
		OPENSSL_cleanse(k->bytes, k->len);
		free(k->bytes);
	}
	k->bytes = NULL;
	k->len = 0;
}

/* Check the open file, then read all of it (at most KEY_MAX + 1 bytes,
 * to tell "too long" from "exactly the maximum"). */
static int key_read(int fd, uint8_t *buf, size_t *len, const char **why)
{
	struct stat st;
	size_t n = 0;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		return -EPERM;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 07177) != 0) {
		*why = "must be owned by us with mode 0600 or 0400";
		return -EPERM;
	}
	while (n < QVMI_SES_KEY_MAX + 1) {
		ssize_t r = read(fd, buf + n, QVMI_SES_KEY_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n < QVMI_SES_KEY_MIN || n > QVMI_SES_KEY_MAX) {
		*why = "key must be 32 to 4096 bytes";
		return -EINVAL;
	}
	*len = n;
	return 0;
}

int qvmi_ses_key_load(const char *path, struct qvmi_ses_key *ret,
		      const char **why)
{
	uint8_t *buf = malloc(QVMI_SES_KEY_MAX + 1);
	const char *w = "cannot open";
	size_t len = 0;
	int fd, err;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	err = fd < 0 ? -errno : key_read(fd, buf, &len, &w);
	if (fd >= 0)
		close(fd);
	if (!err)
		err = qvmi_ses_key_set(ret, buf, len);
	else if (why)
		*why = w;
	OPENSSL_cleanse(buf, QVMI_SES_KEY_MAX + 1);
	free(buf);
	return err;
}

int qvmi_ses_nonce(uint8_t out[QVMI_SES_NONCE])
{
	return RAND_bytes(out, QVMI_SES_NONCE) == 1 ? 0 : -EIO;
}

int qvmi_ses_mac(const struct qvmi_ses_key *key, enum qvmi_ses_role role,
		 const uint8_t *transcript, size_t tlen, const uint8_t *extra,
		 size_t elen, uint8_t out[QVMI_SES_MAC])
{
	const char *label = role == QVMI_SES_ROLE_SERVER ? label_server :
							   label_client;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t outl = 0;
	int ok;

	/* The label's terminating NUL is the 0x00 separator. */
	ok = c && key->bytes &&
	     EVP_MAC_init(c, key->bytes, key->len, params) == 1 &&
	     EVP_MAC_update(c, (const uint8_t *)label, strlen(label) + 1) ==
		     1 &&
	     EVP_MAC_update(c, transcript, tlen) == 1 &&
	     (!elen || EVP_MAC_update(c, extra, elen) == 1) &&
	     EVP_MAC_final(c, out, &outl, QVMI_SES_MAC) == 1 &&
	     outl == QVMI_SES_MAC;
	EVP_MAC_CTX_free(c);
	EVP_MAC_free(mac);
	return ok ? 0 : -EIO;
}

bool qvmi_ses_mac_equal(const uint8_t a[QVMI_SES_MAC],
			const uint8_t b[QVMI_SES_MAC])
{
	return CRYPTO_memcmp(a, b, QVMI_SES_MAC) == 0;
}
