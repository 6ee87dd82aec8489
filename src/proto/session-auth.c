// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Session authentication: HMAC-SHA256 from the in-tree src/core/sha256.c,
 * nonces from the kernel's CSPRNG (getrandom(2)), a constant-time MAC
 * compare, and keys wiped with explicit_bzero.  No libcrypto: its
 * constructor and page faults cost every short-lived qvmi process more
 * than the few hundred bytes a handshake MACs.  The key file is checked
 * like ssh checks a private key: ours, not readable by anyone else.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/sha256.h"
#include "proto/session-auth.h"

static const char label_client[] = "qvmi-session/1 client";
static const char label_server[] = "qvmi-session/1 server";

int qvmi__ses_key_set(struct qvmi_ses_key *k, const void *bytes, size_t len)
{
	uint8_t *b;

	if (len < QVMI_SES_KEY_MIN || len > QVMI_SES_KEY_MAX)
		return -EINVAL;
	b = malloc(len);
	if (!b)
		return -ENOMEM;
	memcpy(b, bytes, len);
	qvmi__ses_key_clear(k);
	k->bytes = b;
	k->len = len;
	return 0;
}

void qvmi__ses_key_clear(struct qvmi_ses_key *k)
{
	if (k->bytes) {
		explicit_bzero(k->bytes, k->len);
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

/* dirfd < 0: path as given; else path inside the directory dirfd. */
static int key_load_at(int dirfd, const char *path, struct qvmi_ses_key *ret,
		       const char **why)
{
	uint8_t *buf = malloc(QVMI_SES_KEY_MAX + 1);
	const char *w = "cannot open";
	size_t len = 0;
	int fd, err;

	if (!buf)
		return -ENOMEM;
	/* O_NONBLOCK: a FIFO put there opens at once (then fails the
	 * regular-file check) instead of blocking an accept. */
	fd = openat(dirfd < 0 ? AT_FDCWD : dirfd, path,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
			    (dirfd < 0 ? 0 : O_NONBLOCK));
	if (fd < 0 && errno == ELOOP)
		w = "a symbolic link";
	else if (fd < 0 && errno == ENOENT)
		w = "no such file";
	err = fd < 0 ? -errno : key_read(fd, buf, &len, &w);
	if (fd >= 0)
		close(fd);
	if (!err)
		err = qvmi__ses_key_set(ret, buf, len);
	else if (why)
		*why = w;
	explicit_bzero(buf, QVMI_SES_KEY_MAX + 1);
	free(buf);
	return err;
}

int qvmi__ses_key_load(const char *path, struct qvmi_ses_key *ret,
		       const char **why)
{
	return key_load_at(-1, path, ret, why);
}

/* Nobody else may add, replace or even list keys: 0700 or 0500, ours. */
static int keydir_check(int fd, const char **why)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		*why = "not a directory";
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		*why = "must be owned by us with mode 0700 or 0500";
		return -EPERM;
	}
	return 0;
}

int qvmi__ses_keydir_open(const char *path, int *ret, const char **why)
{
	/* Not O_DIRECTORY: with it, Linux reports a symbolic link as
	 * ENOTDIR; keydir_check() tells a directory instead.  O_NONBLOCK:
	 * a FIFO there opens at once. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
				    O_NONBLOCK);
	int err;

	if (fd < 0) {
		err = -errno;
		*why = err == -ELOOP  ? "a symbolic link" :
		       err == -ENOENT ? "no such directory" :
					"cannot open";
		return err;
	}
	err = keydir_check(fd, why);
	if (err) {
		close(fd);
		return err;
	}
	*ret = fd;
	return 0;
}

int qvmi__ses_keydir_load(int dirfd, const uint8_t uuid[16],
			  struct qvmi_ses_key *ret, const char **why)
{
	static const char hex[] = "0123456789abcdef";
	char name[QVMI_SES_KEYDIR_NAME + 1];
	uint8_t any = 0;
	int err;

	for (int i = 0; i < 16; i++) {
		any |= uuid[i];
		name[2 * i] = hex[uuid[i] >> 4];
		name[2 * i + 1] = hex[uuid[i] & 15];
	}
	memcpy(name + 32, ".key", 5);
	if (!any) {
		*why = "the VM's uuid is unknown (all zero): no per-VM key";
		return -ENOENT;
	}
	/* Again at each load: the mode may have changed since the
	 * listener opened the directory. */
	err = keydir_check(dirfd, why);
	return err ? err : key_load_at(dirfd, name, ret, why);
}

/*
 * Flags 0: block until the kernel's pool is initialised, never a weaker
 * source.  Short reads happen only on a signal; each pass makes progress
 * or is an EINTR, and 0 is not a possible answer, so the loop ends.
 */
int qvmi__ses_nonce(uint8_t out[QVMI_SES_NONCE])
{
	size_t n = 0;

	while (n < QVMI_SES_NONCE) {
		ssize_t r = getrandom(out + n, QVMI_SES_NONCE - n, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int err = r < 0 ? -errno : -EIO;

			explicit_bzero(out, QVMI_SES_NONCE);
			return err;
		}
		n += (size_t)r;
	}
	return 0;
}

int qvmi__ses_mac(const struct qvmi_ses_key *key, enum qvmi_ses_role role,
		  const uint8_t *transcript, size_t tlen, const uint8_t *extra,
		  size_t elen, uint8_t out[QVMI_SES_MAC])
{
	const char *label = role == QVMI_SES_ROLE_SERVER ? label_server :
							   label_client;
	struct qvmi_sha256_hmac h;

	if (!key->bytes)
		return -EINVAL;
	qvmi__sha256_hmac_init(&h, key->bytes, key->len);
	/* The label's terminating NUL is the 0x00 separator. */
	qvmi__sha256_hmac_update(&h, label, strlen(label) + 1);
	qvmi__sha256_hmac_update(&h, transcript, tlen);
	qvmi__sha256_hmac_update(&h, extra, elen);
	qvmi__sha256_hmac_final(&h, out);
	return 0;
}

/*
 * No early exit: the time does not depend on where the MACs differ.  The
 * accumulator is volatile so the compiler cannot turn the loop back into a
 * memcmp that stops at the first difference.
 */
bool qvmi__ses_mac_equal(const uint8_t a[QVMI_SES_MAC],
			 const uint8_t b[QVMI_SES_MAC])
{
	volatile uint8_t d = 0;

	for (size_t i = 0; i < QVMI_SES_MAC; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}
