// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The KVMi key (--kvmi-key FILE): the RFC's QEMU compares the tool's
 * cookie_hash with SHA-1 of the key bytes (KVM-VMI qemu accel/kvm/vmi.c).
 * SHA-1 comes from OpenSSL's libcrypto, linked into qvmid only (the qvmi
 * CLI stays libcrypto-free).  The check is static and replayable: a filter
 * against the wrong tool, not authentication (docs/KVMI.md).
 */
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvmi-int.h"

enum { KEY_MAX = 64 * 1024 };

void qvmid_kvmi_sha1(const void *buf, size_t len, uint8_t hash[20])
{
	unsigned int n = 20;

	/* EVP_Digest cannot fail for SHA-1 on a sane libcrypto; if it ever
	 * did, an all-ones hash matches no tool's cookie. */
	if (!EVP_Digest(buf, len, hash, &n, EVP_sha1(), NULL) || n != 20)
		memset(hash, 0xff, 20);
}

bool qvmid_kvmi_cookie_eq(const uint8_t *a, const uint8_t *b)
{
	return CRYPTO_memcmp(a, b, QVMI_KVMI_COOKIE) == 0;
}

static void key_log(qvmid_log_fn log, void *arg, const char *path,
		    const char *what)
{
	char msg[512];

	if (!log)
		return;
	snprintf(msg, sizeof(msg), "kvmi: key file %s: %s", path, what);
	log(QVMI_LOG_ERROR, msg, arg);
}

int qvmid_kvmi_key_hash(const char *path, uint8_t hash[20], qvmid_log_fn log,
			void *log_arg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	uint8_t *buf = NULL;
	struct stat st;
	ssize_t n = 0;
	int err = 0;

	if (fd < 0) {
		err = -errno;
		key_log(log, log_arg, path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		key_log(log, log_arg, path, "not a regular file");
		err = -EINVAL;
	} else if (st.st_mode & 077) {
		key_log(log, log_arg, path,
			"group or others may access it (chmod 600)");
		err = -EPERM;
	} else if (st.st_size <= 0 || st.st_size > KEY_MAX) {
		key_log(log, log_arg, path, "empty or larger than 64 KiB");
		err = -EINVAL;
	}
	if (!err) {
		buf = malloc((size_t)st.st_size);
		n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
		if (n != st.st_size) {
			key_log(log, log_arg, path, "short read");
			err = -EIO;
		}
	}
	if (!err)
		qvmid_kvmi_sha1(buf, (size_t)n, hash);
	if (buf)
		explicit_bzero(buf, (size_t)st.st_size);
	free(buf);
	close(fd);
	return err;
}
