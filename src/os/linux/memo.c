// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The answer memo: every symbol lookup by name and every BTF member or
 * type-size query made through a handle is remembered with its answer,
 * and the profile cache keeps the list beside the profile
 * ("linux-<key>.memo").  An attach that finds its kernel build in the
 * profile then answers the same questions (the ones `qvmi ps` and the other
 * views ask: a few dozen) from this small file, and never decodes the
 * symbol table or parses the 4 MB of BTF unless a new question comes.
 *
 * Symbol addresses in the kernel image are kept relative to _text, so they
 * follow the KASLR slide of each boot.  The memo is only loaded after the
 * profile's checks against the guest passed (same banner, same token table,
 * so the same build and therefore the same BTF).  The file is checked like
 * the profile: magic, sizes, checksum, string bounds.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "linux.h"

static const char memo_magic[8] = "QVMIMEMO";

enum {
	MEMO_VERSION = 1,
	MEMO_MAX = 4096, /* entries */
	MEMO_STR_MAX = 1024, /* bytes of one key string */
	MEMO_FILE_MAX = 4 << 20,
	REC_SIZE = 40, /* fixed part of a record on disk */
};

struct memo_hdr {
	char magic[8];
	uint32_t version, n;
	uint64_t body_len, body_hash;
};

void qvmi__memo_free(struct qvmi_lx_memo *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].k1);
		free(m->e[i].k2);
		free(m->e[i].tname);
	}
	free(m->e);
	m->e = NULL;
	m->n = m->cap = 0;
	m->dirty = false;
}

static bool key_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The entry of that kind and keys, or NULL. */
static struct qvmi_lx_memo_ent *find(const struct qvmi_lx_memo *m, int kind,
				     const char *k1, const char *k2)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].kind == kind && key_eq(m->e[i].k1, k1) &&
		    key_eq(m->e[i].k2, k2))
			return &m->e[i];
	return NULL;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* A new zeroed entry with its keys copied; NULL when full or on ENOMEM. */
static struct qvmi_lx_memo_ent *add(struct qvmi_lx_memo *m, int kind,
				    const char *k1, size_t l1, const char *k2,
				    size_t l2)
{
	struct qvmi_lx_memo_ent *e;

	if (m->n >= MEMO_MAX || l1 > MEMO_STR_MAX || l2 > MEMO_STR_MAX)
		return NULL;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		struct qvmi_lx_memo_ent *ne = realloc(m->e, cap * sizeof(*ne));

		if (!ne)
			return NULL;
		m->e = ne;
		m->cap = cap;
	}
	e = &m->e[m->n];
	memset(e, 0, sizeof(*e));
	e->kind = (uint8_t)kind;
	e->k1 = dup_n(k1, l1);
	e->k2 = k2 ? dup_n(k2, l2) : NULL;
	if (!e->k1 || (k2 && !e->k2)) {
		free(e->k1);
		free(e->k2);
		return NULL;
	}
	m->n++;
	m->dirty = true;
	return e;
}

/* ---- lookups ------------------------------------------------------------ */

int qvmi__memo_sym(struct qvmi_linux *lx, const char *name, uint64_t *addr)
{
	const struct qvmi_lx_memo_ent *e =
		find(&lx->memo, QVMI_MEMO_SYM, name, NULL);

	if (!e)
		return 1;
	if (e->err)
		return e->err;
	*addr = e->v + (e->rel ? lx->text_va : 0);
	return 0;
}

void qvmi__memo_put_sym(struct qvmi_linux *lx, const char *name, int err,
			uint64_t addr)
{
	struct qvmi_lx_memo_ent *e;

	if (err && err != -ENOENT)
		return;
	e = add(&lx->memo, QVMI_MEMO_SYM, name, strlen(name), NULL, 0);
	if (!e)
		return;
	e->err = err;
	/* As in the profile: everything in the kernel-image half moves with
	 * the slide (unsigned wrap-around keeps addresses below _text). */
	e->rel = !err && addr >= QVMI_LINUX_START_KERNEL_MAP;
	e->v = e->rel ? addr - lx->text_va : addr;
}

int qvmi__memo_member(struct qvmi_linux *lx, const char *type, const char *path,
		      struct qvmi_linux_member *ret)
{
	const struct qvmi_lx_memo_ent *e =
		find(&lx->memo, QVMI_MEMO_MEMBER, type, path);

	if (!e)
		return 1;
	if (e->err)
		return qvmi__err(lx->ctx, e->err, "btf: no %s in %s", path,
				 type);
	ret->bit_offset = e->v;
	ret->bit_size = e->bit_size;
	ret->size = e->size;
	ret->type_id = e->type_id;
	ret->type_name = e->tname ? e->tname : "";
	return 0;
}

void qvmi__memo_put_member(struct qvmi_linux *lx, const char *type,
			   const char *path, int err,
			   const struct qvmi_linux_member *m)
{
	struct qvmi_lx_memo_ent *e;

	if (err && err != -ENOENT)
		return;
	e = add(&lx->memo, QVMI_MEMO_MEMBER, type, strlen(type), path,
		strlen(path));
	if (!e)
		return;
	e->err = err;
	if (err)
		return;
	e->v = m->bit_offset;
	e->bit_size = m->bit_size;
	e->size = m->size;
	e->type_id = m->type_id;
	if (m->type_name && *m->type_name &&
	    strlen(m->type_name) <= MEMO_STR_MAX)
		e->tname = qvmi__strdup(m->type_name);
}

int qvmi__memo_size(struct qvmi_linux *lx, const char *type, uint64_t *ret)
{
	const struct qvmi_lx_memo_ent *e =
		find(&lx->memo, QVMI_MEMO_SIZE, type, NULL);

	if (!e)
		return 1;
	if (e->err)
		return qvmi__err(lx->ctx, e->err, "btf: no type %s", type);
	*ret = e->v;
	return 0;
}

void qvmi__memo_put_size(struct qvmi_linux *lx, const char *type, int err,
			 uint64_t size)
{
	struct qvmi_lx_memo_ent *e;

	if (err && err != -ENOENT)
		return;
	e = add(&lx->memo, QVMI_MEMO_SIZE, type, strlen(type), NULL, 0);
	if (e) {
		e->err = err;
		e->v = err ? 0 : size;
	}
}

/* ---- the file ------------------------------------------------------------- */

static size_t slen(const char *s)
{
	return s ? strlen(s) : 0;
}

static size_t rec_len(const struct qvmi_lx_memo_ent *e)
{
	return REC_SIZE + slen(e->k1) + slen(e->k2) + slen(e->tname);
}

static uint8_t *put_rec(uint8_t *p, const struct qvmi_lx_memo_ent *e)
{
	uint16_t l[3] = { (uint16_t)slen(e->k1), (uint16_t)slen(e->k2),
			  (uint16_t)slen(e->tname) };

	p[0] = e->kind;
	p[1] = (uint8_t)(e->k2 ? 1 : 0) | (uint8_t)(e->tname ? 2 : 0);
	p[2] = e->rel;
	p[3] = 0;
	memcpy(p + 4, &e->err, 4);
	memcpy(p + 8, &e->v, 8);
	memcpy(p + 16, &e->size, 8);
	memcpy(p + 24, &e->bit_size, 4);
	memcpy(p + 28, &e->type_id, 4);
	memcpy(p + 32, l, 6);
	memset(p + 38, 0, 2);
	p += REC_SIZE;
	memcpy(p, e->k1, l[0]);
	if (l[1])
		memcpy(p + l[0], e->k2, l[1]);
	if (l[2])
		memcpy(p + l[0] + l[1], e->tname, l[2]);
	return p + l[0] + l[1] + l[2];
}

int qvmi__memo_save(struct qvmi_linux *lx)
{
	const struct qvmi_lx_memo *m = &lx->memo;
	struct memo_hdr h = { .version = MEMO_VERSION };
	uint8_t *body, *p;
	size_t len = 0;
	int err;

	if (!m->path[0] || !m->dirty)
		return 0;
	for (size_t i = 0; i < m->n; i++)
		len += rec_len(&m->e[i]);
	body = malloc(len + 1);
	if (!body)
		return -ENOMEM;
	p = body;
	for (size_t i = 0; i < m->n; i++)
		p = put_rec(p, &m->e[i]);
	memcpy(h.magic, memo_magic, sizeof(h.magic));
	h.n = (uint32_t)m->n;
	h.body_len = len;
	h.body_hash = qvmi__fnv1a(QVMI_FNV_INIT, body, len);
	{
		struct iovec iov[2] = { { &h, sizeof(h) }, { body, len } };

		err = qvmi__cache_write(m->path, iov, 2);
	}
	free(body);
	return err;
}

/* One record at p (at most end - p bytes); its length, or 0 if bad. */
static size_t get_rec(struct qvmi_lx_memo *m, const uint8_t *p,
		      const uint8_t *end)
{
	struct qvmi_lx_memo_ent *e;
	uint16_t l[3];
	int32_t err;
	size_t n;

	if (end - p < REC_SIZE)
		return 0;
	memcpy(l, p + 32, 6);
	memcpy(&err, p + 4, 4);
	n = REC_SIZE + (size_t)l[0] + l[1] + l[2];
	if ((size_t)(end - p) < n || !l[0] || (p[1] & ~3u) || p[2] > 1 ||
	    (p[0] != QVMI_MEMO_SYM && p[0] != QVMI_MEMO_MEMBER &&
	     p[0] != QVMI_MEMO_SIZE) ||
	    ((p[0] == QVMI_MEMO_MEMBER) != !!(p[1] & 1)) ||
	    (err != 0 && err != -ENOENT) ||
	    memchr(p + REC_SIZE, 0, n - REC_SIZE))
		return 0;
	e = add(m, p[0], (const char *)p + REC_SIZE, l[0],
		(p[1] & 1) ? (const char *)p + REC_SIZE + l[0] : NULL, l[1]);
	if (!e)
		return 0;
	e->rel = p[2];
	e->err = err;
	memcpy(&e->v, p + 8, 8);
	memcpy(&e->size, p + 16, 8);
	memcpy(&e->bit_size, p + 24, 4);
	memcpy(&e->type_id, p + 28, 4);
	if (p[1] & 2)
		e->tname =
			dup_n((const char *)p + REC_SIZE + l[0] + l[1], l[2]);
	return n;
}

static int parse(struct qvmi_lx_memo *m, const uint8_t *body,
		 const struct memo_hdr *h)
{
	const uint8_t *p = body, *end = body + h->body_len;

	for (uint32_t i = 0; i < h->n; i++) {
		size_t n = get_rec(m, p, end);

		if (!n)
			return -EBADMSG;
		p += n;
	}
	return p == end ? 0 : -EBADMSG;
}

int qvmi__memo_load(struct qvmi_linux *lx)
{
	struct qvmi_lx_memo *m = &lx->memo;
	int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int err = -EBADMSG;
	struct memo_hdr h;
	uint8_t *body = NULL;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !qvmi__cache_file_ours(&st) ||
	    st.st_size > MEMO_FILE_MAX ||
	    pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, memo_magic, sizeof(h.magic)) ||
	    h.version != MEMO_VERSION || h.n > MEMO_MAX ||
	    h.body_len != (uint64_t)st.st_size - sizeof(h))
		goto out;
	body = malloc(h.body_len + 1);
	if (!body) {
		err = -ENOMEM;
		goto out;
	}
	if (pread(fd, body, h.body_len, sizeof(h)) != (ssize_t)h.body_len ||
	    qvmi__fnv1a(QVMI_FNV_INIT, body, h.body_len) != h.body_hash)
		goto out;
	err = parse(m, body, &h);
out:
	if (err)
		qvmi__memo_free(m);
	m->dirty = false;
	free(body);
	close(fd);
	return err;
}
