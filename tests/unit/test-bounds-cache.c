// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Cache files as hostile input (issue 17): a layout or profile file that
 * is another user's, writable by others, cut, too big, or crafted with
 * fields that contradict the live QEMU or guest is refused, each for its
 * own reason.  Every case here kills a mutant of tests/mutate/bounds.list
 * that no other test did (scripts/mutate-bounds).
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-qemu.h"
#include "harness.h"
#include "ksyms-build.h"
#include "qvmi.h"
#include "attach/layout-cache.h"
#include "os/linux/linux.h"

/* ---- the layout file's text ---------------------------------------------- */

static const char lay_text[] = "qvmi-layout 2\n"
			       "sock /tmp/qvmi-bounds.sock\n"
			       "id 1 2 3 4\n"
			       "pid 100 5\n"
			       "allow 7\n"
			       "version 7.2.0\n"
			       "maps 0000000000000001\n"
			       "ranges 1\n"
			       "0 100000 1 s 7f0000000000 1 2 0 0 ram0\n"
			       "end\n";

/* lay_text with the first `from` replaced by `to`, parsed */
static int lay_parse_with(const char *from, const char *to)
{
	static struct qvmi_layout l;
	size_t n = strlen(lay_text) + strlen(to) + 1;
	char *b = malloc(n), *at;
	int err;

	CHECK(b);
	at = strstr(lay_text, from);
	CHECK(at);
	snprintf(b, n, "%.*s%s%s", (int)(at - lay_text), lay_text, to,
		 at + strlen(from));
	err = qvmi__layout_parse(b, &l);
	free(b);
	return err;
}

static void layout_parse_bounds(void)
{
	char *big = malloc(5000);
	int n;

	CHECK(big);
	CHECK_OK(lay_parse_with("end", "end"));
	/* an empty range, and ranges that wrap in gpa, hva or file offset */
	CHECK_INT(lay_parse_with("0 100000 1 s 7f0000000000", "0 0 1 s 0"), ==,
		  -EBADMSG);
	CHECK_INT(lay_parse_with("0 100000 1 s", "ffffffffffff0000 100000 1 s"),
		  ==, -EBADMSG);
	CHECK_INT(lay_parse_with("s 7f0000000000", "s ffffffffffff0000"), ==,
		  -EBADMSG);
	CHECK_INT(lay_parse_with("1 2 0 0 ram0", "1 2 ffffffffffff0000 0 ram0"),
		  ==, -EBADMSG);
	/* a socket path of PATH_MAX bytes, a version of 128 */
	n = snprintf(big, 5000, "sock /");
	memset(big + n, 'a', PATH_MAX - 1);
	big[n + PATH_MAX - 1] = '\0';
	CHECK_INT(lay_parse_with("sock /tmp/qvmi-bounds.sock", big), ==,
		  -EBADMSG);
	n = snprintf(big, 5000, "version ");
	memset(big + n, '7', QVMI_LAYOUT_VERSION_MAX);
	big[n + QVMI_LAYOUT_VERSION_MAX] = '\0';
	CHECK_INT(lay_parse_with("version 7.2.0", big), ==, -EBADMSG);
	big[n + QVMI_LAYOUT_VERSION_MAX - 1] = '\0';
	CHECK_OK(lay_parse_with("version 7.2.0", big));
	/* 256 ranges, then 257: one more than a layout holds */
	for (int k = 256; k <= 257; k++) {
		size_t cap = 64 * 258, len;
		char *r = malloc(cap);

		CHECK(r);
		len = (size_t)snprintf(r, cap, "ranges %d\n", k);
		for (int i = 0; i < k; i++)
			len += (size_t)snprintf(r + len, cap - len,
						"%x 1000 1 s %x 1 2 0 0 r%d\n",
						i << 12, i << 12, i);
		r[len - 1] = '\0'; /* the last \n is the original's */
		CHECK_INT(lay_parse_with("ranges 1\n0 100000 1 s 7f0000000000 "
					 "1 2 0 0 ram0",
					 r),
			  ==, k == 256 ? 0 : -EBADMSG);
		free(r);
	}
	/* no pid */
	CHECK_INT(lay_parse_with("pid 100", "pid 0"), ==, -EBADMSG);
	CHECK_INT(lay_parse_with("pid 100", "pid -100"), ==, -EBADMSG);
	free(big);
}

/* ---- the layout file, loaded against a live (fake) QEMU ------------------ */

struct lay_rig {
	struct fake f;
	char path[256], dir[80], *orig, why[320];
	struct qvmi_layout *l;
};

static void rig_start(struct lay_rig *r)
{
	struct qvmi_layout *c = calloc(1, sizeof(*c));
	struct qvmi_ctx *ctx;
	size_t n = 0;
	FILE *fp;
	int err;

	CHECK(c);
	fakeq_start(&r->f, true);
	fakeq_run(&r->f);
	ctx = fakeq_attach(&r->f, 0, &err);
	CHECK_OK(err);
	qvmi_ctx_destroy(ctx);
	fakeq_cache_file(&r->f, r->path, sizeof(r->path));
	CHECK(r->path[0]);
	snprintf(r->dir, sizeof(r->dir), "%s/qvmi", r->f.dir);
	r->orig = calloc(1, 65536);
	fp = fopen(r->path, "r");
	CHECK(r->orig && fp);
	n = fread(r->orig, 1, 65535, fp);
	fclose(fp);
	CHECK(n > 0 && n < 65535);
	{
		char *t = strdup(r->orig);

		CHECK(t);
		CHECK_OK(qvmi__layout_parse(t, c)); /* its allow */
		free(t);
	}
	r->l = calloc(1, sizeof(*r->l));
	CHECK(r->l);
	r->l->allow = c->allow;
	free(c);
}

/* Write text (len bytes) as the cache file, 0600, and load it. */
static int rig_load_raw(struct lay_rig *r, const char *text, size_t len)
{
	int fd, err;

	unlink(r->path);
	fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, text, len) == (ssize_t)len);
	close(fd);
	memset(r->l, 0, offsetof(struct qvmi_layout, allow));
	CHECK_OK(qvmi__layout_sock_id(r->f.path, r->l));
	r->why[0] = '\0';
	err = qvmi__layout_load(r->l, r->dir, r->why, sizeof(r->why));
	return err;
}

/* The cached text with the line that starts with prefix replaced. */
static int rig_load_with(struct lay_rig *r, const char *prefix,
			 const char *line)
{
	char *t = malloc(65536), *at = strstr(r->orig, prefix), *nl;
	int err, n;

	CHECK(t && at);
	nl = strchr(at, '\n');
	n = snprintf(t, 65536, "%.*s%s%s", (int)(at - r->orig), r->orig, line,
		     nl);
	err = rig_load_raw(r, t, (size_t)n);
	free(t);
	return err;
}

static void rig_stop(struct lay_rig *r)
{
	fakeq_stop(&r->f);
	free(r->orig);
	free(r->l);
}

#define CHECK_WHY(r, s) \
	CHECK_MSG(strstr((r)->why, s), "want \"%s\": %s", s, (r)->why)

/* A file that is not ours, others may write, not a file, too big or with
 * a NUL in it: refused before it is parsed. */
static void layout_file_refused(void)
{
	struct lay_rig r;
	char *big;

	rig_start(&r);
	CHECK_MSG(!rig_load_raw(&r, r.orig, strlen(r.orig)), "%s", r.why);
	CHECK_OK(chmod(r.path, 0640));
	r.why[0] = '\0';
	CHECK_INT(qvmi__layout_load(r.l, r.dir, r.why, sizeof(r.why)), ==,
		  -EPERM);
	if (geteuid() == 0) {
		CHECK_OK(chmod(r.path, 0600));
		CHECK_OK(chown(r.path, 65534, 65534));
		CHECK_INT(qvmi__layout_load(r.l, r.dir, r.why, sizeof(r.why)),
			  ==, -EPERM);
	}
	/* a directory in its place */
	unlink(r.path);
	CHECK_OK(mkdir(r.path, 0700));
	CHECK_INT(qvmi__layout_load(r.l, r.dir, r.why, sizeof(r.why)), ==,
		  -EPERM);
	CHECK_OK(rmdir(r.path));
	/* 256 KiB: the text, then blank lines */
	big = malloc(256 << 10);
	CHECK(big);
	memset(big, '\n', 256 << 10);
	memcpy(big, r.orig, strlen(r.orig));
	CHECK_INT(rig_load_raw(&r, big, 256 << 10), ==, -EFBIG);
	/* the whole text, a NUL, then anything */
	memcpy(big + strlen(r.orig), "\0zz\n", 4);
	CHECK_INT(rig_load_raw(&r, big, strlen(r.orig) + 4), ==, -EBADMSG);
	free(big);
	rig_stop(&r);
}

/* Valid files whose fields contradict the live QEMU: refused, each with
 * its reason. */
static void layout_contradicts_live(void)
{
	struct lay_rig r;
	char line[256], sock[160];
	unsigned long long v[4], start;
	char *id, *maps;
	int pid;

	rig_start(&r);
	id = strstr(r.orig, "\nid ");
	CHECK(id && sscanf(id, "\nid %llu %llu %llu %llu", &v[0], &v[1], &v[2],
			   &v[3]) == 4);
	CHECK(sscanf(strstr(r.orig, "\npid "), "\npid %d %llu", &pid, &start) ==
	      2);
	CHECK(sscanf(strstr(r.orig, "\nsock "), "\nsock %159s", sock) == 1);
	for (int i = 0; i < 4; i++) { /* dev, inode, ctime s, ctime ns */
		unsigned long long w[4] = { v[0], v[1], v[2], v[3] };

		w[i]++;
		snprintf(line, sizeof(line), "id %llu %llu %llu %llu", w[0],
			 w[1], w[2], w[3]);
		CHECK_INT(rig_load_with(&r, "id ", line), ==, -ESTALE);
		CHECK_WHY(&r, "not the same file");
	}
	snprintf(line, sizeof(line), "sock %s.other", sock);
	CHECK_INT(rig_load_with(&r, "sock ", line), ==, -ESTALE);
	CHECK_WHY(&r, "not the same file");
	snprintf(line, sizeof(line), "allow %u", r.l->allow ^ 1);
	CHECK_INT(rig_load_with(&r, "allow ", line), ==, -ESTALE);
	CHECK_WHY(&r, "cached for other sources");
	snprintf(line, sizeof(line), "pid %d %llu", pid, start + 1);
	CHECK_INT(rig_load_with(&r, "pid ", line), ==, -ESRCH);
	CHECK_WHY(&r, "is gone or not the same");
	maps = strstr(r.orig, "\nmaps ");
	CHECK(maps && sscanf(maps, "\nmaps %llx", &v[0]) == 1);
	snprintf(line, sizeof(line), "maps %016llx", v[0] ^ 1);
	CHECK_INT(rig_load_with(&r, "maps ", line), ==, -ESTALE);
	CHECK_WHY(&r, "mappings changed");
	/* and the file as written is still good */
	CHECK_MSG(!rig_load_raw(&r, r.orig, strlen(r.orig)), "%s", r.why);
	rig_stop(&r);
}

/* ---- the profile file, against a live (synthetic) guest ------------------ */

#define KVA 0xffffffff8a000000ull
enum {
	MEM = 8 << 20,
	TEXT_PA = 4 << 20,
	KS_OFF = 0x200000, /* kallsyms tables, from _text */
	BAN_OFF = 0x300000,
	PB_OFF = 0x300100,
	END_OFF = 0x380000, /* _end: the text span */
	OUT_OFF = 0x390000, /* free memory past _end */
	NFN = 40,
};

/* src/os/linux/profile.c's header, version 6: a format change fails
 * profile_hdr_mirror rather than letting these tests pass vacuously. */
struct prof_hdr6 {
	char magic[8];
	uint32_t version, hdr_size;
	char banner[512];
	char layout[48];
	uint64_t text_pa, text_span;
	uint64_t ban_off, pb_off, tt_off;
	uint64_t tok_len, tok_hash;
	uint32_t nsyms, pool_len;
	uint64_t body_len, body_hash;
	uint32_t boot_id, reserved;
	uint64_t ks_off, ks_len, ks_hash;
	char mem_id[160];
};

#define FNV_INIT 0xcbf29ce484222325ull

static char pfn_names[NFN][8];

/* A kernel at TEXT_PA: kallsyms (6.4+), banner, phys_base. */
static void pk_make(uint8_t *mem)
{
	static const char banner[] = "Linux version 6.9.0-bc (x@y) #1 SMP\n";
	struct kb_sym syms[NFN + 8];
	struct kb_opts o = { KB_NEW, 4, 0, 1, 0 };
	struct kb_layout kl;
	uint8_t *img = mem + TEXT_PA;
	uint64_t v;
	size_t n = 0;

	syms[n++] = (struct kb_sym){ 0x2000, 'A', "cpu_tss_rw" };
	syms[n++] = (struct kb_sym){ KVA, 'T', "_text" };
	syms[n++] = (struct kb_sym){ KVA + 0x10, 'T', "sym_0123456789" };
	for (int i = 0; i < NFN; i++) {
		snprintf(pfn_names[i], sizeof(pfn_names[i]), "fn_%d", i);
		syms[n++] = (struct kb_sym){ KVA + 0x1000 + 0x20 * (uint64_t)i,
					     'T', pfn_names[i] };
	}
	syms[n++] = (struct kb_sym){ KVA + BAN_OFF, 'D', "linux_banner" };
	syms[n++] = (struct kb_sym){ KVA + PB_OFF, 'D', "phys_base" };
	syms[n++] = (struct kb_sym){ KVA + END_OFF, 'B', "_end" };
	CHECK_OK(kb_build(img, 0x100000 + KS_OFF, KS_OFF, syms, n, &o, &kl));
	memcpy(img + BAN_OFF, banner, sizeof(banner));
	v = TEXT_PA - KVA + QVMI_LINUX_START_KERNEL_MAP;
	memcpy(img + PB_OFF, &v, 8);
}

/* Open; where the symbols come from right after open (a profile is
 * checked then; its table later), and after looking up fn_7 and the name
 * at fn_9 + 1, which must be right in any case. */
/* pk_open with the image named id (ctx->mem_id, as an attach sets it). */
static void pk_open_id(uint8_t *mem, const char *dir, const char *id,
		       const char **at_open, const char **after)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *src;
	struct qvmi_linux *lx = NULL;
	struct qvmi_linux_info in;
	uint64_t a = 0;
	char name[32];

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_testmem_create(ctx, mem, MEM, 0, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, MEM, 0));
	if (id)
		qvmi__mem_id_set(ctx, "%s", id);
	QVMI_OPTS(qvmi_linux_opts, lo, .cache_dir = dir);
	CHECK_OK(qvmi_linux_open(ctx, &lo, &lx));
	CHECK_OK(qvmi_linux_info(lx, &in));
	*at_open = in.sym_source;
	CHECK_OK(qvmi_linux_sym_addr(lx, "fn_7", &a));
	CHECK_U64(a, ==, KVA + 0x1000 + 0x20 * 7);
	/* by address: the whole table (fn_7 may come from the memo) */
	CHECK_OK(qvmi_linux_sym_name(lx, KVA + 0x1000 + 0x20 * 9 + 1, name,
				     sizeof(name), &a));
	CHECK_STR(name, "fn_9");
	CHECK_OK(qvmi_linux_info(lx, &in));
	if (after)
		*after = in.sym_source;
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
}

static void pk_open(uint8_t *mem, const char *dir, const char **at_open,
		    const char **after)
{
	pk_open_id(mem, dir, NULL, at_open, after);
}

/* Files of dir whose name ends with suffix. */
static int count_files(const char *dir, const char *suffix)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	CHECK(d);
	while (d && (e = readdir(d))) {
		size_t k = strlen(e->d_name), m = strlen(suffix);

		n += k > m && !strcmp(e->d_name + k - m, suffix);
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * Two VMs of one kernel, each its own boot (the BIOS tick count) and
 * image: each keeps its profile.  Before, one file per kernel build: each
 * open refused the other VM's profile and overwrote it, and every open
 * was cold ("kallsyms").  70 more images: the 64 newest profiles stay,
 * with no more memos than profiles.
 */
static void profile_per_image(void)
{
	char dir[] = "/tmp/qvmi-bc-XXXXXX", id[32], path[300];
	uint8_t *a = calloc(1, MEM), *b = malloc(MEM);
	struct dirent *e;
	const char *s;
	DIR *d;

	CHECK(a && b && mkdtemp(dir));
	pk_make(a);
	memcpy(b, a, MEM);
	b[0x46c] ^= 1; /* another boot */
	for (int round = 0; round < 2; round++) {
		pk_open_id(a, dir, "vm a", &s, NULL);
		CHECK_STR(s, round ? "cache" : "kallsyms");
		pk_open_id(b, dir, "vm b", &s, NULL);
		CHECK_STR(s, round ? "cache" : "kallsyms");
	}
	CHECK_INT(count_files(dir, ".prof"), ==, 2);
	for (int i = 0; i < 70; i++) { /* each a boot of its own */
		snprintf(id, sizeof(id), "image %d", i);
		b[0x46d] = (uint8_t)(i + 1);
		pk_open_id(b, dir, id, &s, NULL);
		CHECK_STR(s, "kallsyms");
	}
	CHECK_INT(count_files(dir, ".prof"), ==, 64);
	CHECK(count_files(dir, ".memo") <= 64);
	d = opendir(dir);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(dir);
	free(a);
	free(b);
}

struct prof_rig {
	char dir[32], path[300];
	uint8_t *mem, *orig;
	size_t len;
};

static void prof_start(struct prof_rig *r)
{
	const char *s;
	struct dirent *e;
	DIR *d;
	FILE *fp;

	snprintf(r->dir, sizeof(r->dir), "/tmp/qvmi-bc-XXXXXX");
	r->mem = calloc(1, MEM);
	CHECK(r->mem && mkdtemp(r->dir));
	pk_make(r->mem);
	pk_open(r->mem, r->dir, &s, NULL);
	CHECK_STR(s, "kallsyms");
	pk_open(r->mem, r->dir, &s, NULL);
	CHECK_STR(s, "cache");
	d = opendir(r->dir);
	CHECK(d);
	r->path[0] = '\0';
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".prof"))
			snprintf(r->path, sizeof(r->path), "%s/%s", r->dir,
				 e->d_name);
	closedir(d);
	CHECK(r->path[0]);
	r->orig = malloc(1 << 20);
	fp = fopen(r->path, "rb");
	CHECK(r->orig && fp);
	r->len = fread(r->orig, 1, 1 << 20, fp);
	fclose(fp);
	CHECK(r->len > sizeof(struct prof_hdr6));
}

/* Write b (len bytes; the file is size bytes, a sparse tail if larger)
 * as the profile, 0600; the sources at open and after a lookup. */
static void prof_put(struct prof_rig *r, const uint8_t *b, size_t len,
		     uint64_t size, const char **at_open, const char **after)
{
	int fd;

	unlink(r->path);
	fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, b, len) == (ssize_t)len);
	CHECK_OK(ftruncate(fd, (off_t)size));
	close(fd);
	pk_open(r->mem, r->dir, at_open, after);
}

/* The original file with its body's checksum recomputed. */
static void prof_rehash(uint8_t *b)
{
	struct prof_hdr6 *h = (struct prof_hdr6 *)b;
	uint8_t *body = b + sizeof(*h);
	size_t elen = (size_t)h->nsyms * 16;

	h->body_hash =
		qvmi__profile_hash(body + elen, h->pool_len,
				   qvmi__profile_hash(body, elen, FNV_INIT));
}

static void prof_stop(struct prof_rig *r)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
	CHECK(!system(cmd));
	free(r->mem);
	free(r->orig);
}

static void profile_hdr_mirror(void)
{
	struct prof_rig r;
	struct prof_hdr6 *h;
	const char *s;

	prof_start(&r);
	h = (struct prof_hdr6 *)r.orig;
	CHECK(!memcmp(h->magic, "QVMIPRF1", 8));
	CHECK_INT(h->version, ==, 6);
	CHECK_INT(h->hdr_size, ==, sizeof(*h));
	CHECK_U64(h->text_pa, ==, TEXT_PA);
	CHECK_U64(h->text_span, ==, END_OFF);
	CHECK_U64(h->ban_off, ==, BAN_OFF);
	CHECK_U64(h->pb_off, ==, PB_OFF);
	CHECK_U64(r.len, ==, sizeof(*h) + h->body_len);
	/* the mirror's checksum is the library's */
	prof_rehash(r.orig);
	prof_put(&r, r.orig, r.len, r.len, &s, NULL);
	CHECK_STR(s, "cache");
	prof_stop(&r);
}

/* A header that holds together and carries a valid checksum, but whose
 * fields break a bound or point the checks at memory outside the kernel
 * (where a copy of what they look for was put): refused at open. */
static void profile_crafted_hdr(void)
{
	struct prof_rig r;
	struct prof_hdr6 *h;
	uint8_t *b, *img;
	const char *s;
	uint64_t v;

	prof_start(&r);
	img = r.mem + TEXT_PA;
	b = malloc(r.len + 64);
	CHECK(b);
	h = (struct prof_hdr6 *)b;
#define CASE(what, edit, size)                                       \
	do {                                                         \
		memcpy(b, r.orig, r.len);                            \
		edit;                                                \
		prof_put(&r, b, r.len, size, &s, NULL);              \
		CHECK_MSG(!strcmp(s, "kallsyms"), "%s: used", what); \
	} while (0)
	/* banner without its NUL, then a 47-byte layout: a banner compare
	 * of 559 bytes would overrun its 512-byte buffer */
	CASE("banner without NUL",
	     (memset(h->banner, 'L', 512), memset(h->layout, 'L', 47)), r.len);
	CASE("layout without NUL", memset(h->layout, 'L', 48), r.len);
	/* the image id is the header's last field: without its NUL, the
	 * compare with ctx->mem_id would run past the header */
	CASE("mem_id without NUL", memset(h->mem_id, 'M', 160), r.len);
	CASE("too many symbols",
	     (h->nsyms = 2000001, h->body_len = 2000001ull * 16 + h->pool_len),
	     sizeof(*h) + 2000001ull * 16 + h->pool_len);
	CASE("pool too large",
	     (h->pool_len = (64 << 20) + 1,
	      h->body_len = (uint64_t)h->nsyms * 16 + (64 << 20) + 1),
	     sizeof(*h) + (uint64_t)h->nsyms * 16 + (64 << 20) + 1);
	CASE("body_len off its counts", h->body_len += 16, r.len + 16);
	CASE("a byte more than body_len", (void)0, r.len + 1);
	CASE("text span over 1 GiB", h->text_span = (1ull << 30) + 1, r.len);
	CASE("token table's hash", h->tok_hash ^= 1, r.len);
	/* the banner, phys_base, tokens and tables copied past _end */
	memcpy(img + OUT_OFF, img + BAN_OFF, 64);
	CASE("banner past _end", h->ban_off = OUT_OFF, r.len);
	memcpy(img + OUT_OFF + 0x100, img + PB_OFF, 8);
	CASE("phys_base past _end", h->pb_off = OUT_OFF + 0x100, r.len);
	memcpy(&v, r.orig + offsetof(struct prof_hdr6, tt_off), 8);
	memcpy(img + OUT_OFF + 0x1000, img + v, 0x10000 + 512);
	CASE("tokens past _end", h->tt_off = OUT_OFF + 0x1000, r.len);
	memcpy(&v, r.orig + offsetof(struct prof_hdr6, ks_len), 8);
	CHECK(v <= 0x20000);
	memcpy(&v, r.orig + offsetof(struct prof_hdr6, ks_off), 8);
	memcpy(img + OUT_OFF + 0x20000, img + v, 0x20000);
	CASE("tables past _end", h->ks_off = OUT_OFF + 0x20000, r.len);
	/* phys_base that puts _text off a 2 MiB boundary, or below the
	 * kernel map: a copy inside the image, pointed at */
	v = TEXT_PA - KVA + QVMI_LINUX_START_KERNEL_MAP + 0x1000;
	memcpy(img + PB_OFF + 0x10, &v, 8);
	CASE("_text unaligned", h->pb_off = PB_OFF + 0x10, r.len);
	v = TEXT_PA + 0x200000;
	memcpy(img + PB_OFF + 0x18, &v, 8);
	CASE("_text below the kernel map", h->pb_off = PB_OFF + 0x18, r.len);
#undef CASE
	/* and the file as written is still used */
	prof_put(&r, r.orig, r.len, r.len, &s, NULL);
	CHECK_STR(s, "cache");
	free(b);
	prof_stop(&r);
}

/* A symbol table with a valid checksum whose entries break the pool:
 * refused when first needed, the symbols decoded from memory instead. */
static void profile_crafted_body(void)
{
	struct prof_rig r;
	struct prof_hdr6 *h;
	uint8_t *b, *body;
	const char *s, *t;
	uint32_t no;

	prof_start(&r);
	b = malloc(r.len);
	CHECK(b);
	h = (struct prof_hdr6 *)b;
	body = b + sizeof(*h);
	/* entry 0's name just past the pool */
	memcpy(b, r.orig, r.len);
	no = h->pool_len;
	memcpy(body + 8, &no, 4);
	prof_rehash(b);
	prof_put(&r, b, r.len, r.len, &s, &t);
	CHECK_STR(s, "cache");
	CHECK_STR(t, "kallsyms");
	/* the pool's last name without its NUL */
	memcpy(b, r.orig, r.len);
	body[(size_t)h->nsyms * 16 + h->pool_len - 1] = 'x';
	prof_rehash(b);
	prof_put(&r, b, r.len, r.len, &s, &t);
	CHECK_STR(s, "cache");
	CHECK_STR(t, "kallsyms");
	free(b);
	prof_stop(&r);
}

/* The file replaced between open and the first use of its table, by one
 * with a valid checksum that moves fn_9: the header no longer matches
 * the one checked at open, so the table is not used. */
static void profile_replaced_after_open(void)
{
	struct prof_rig r;
	struct prof_hdr6 *h;
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *src;
	struct qvmi_linux *lx = NULL;
	uint8_t *b, *body;
	const char *pool;
	char name[32];
	uint64_t a;
	size_t i;
	int fd;

	prof_start(&r);
	b = malloc(r.len);
	CHECK(b);
	memcpy(b, r.orig, r.len);
	h = (struct prof_hdr6 *)b;
	body = b + sizeof(*h);
	pool = (const char *)body + (size_t)h->nsyms * 16;
	for (i = 0; i < h->nsyms; i++) {
		uint32_t no;

		memcpy(&no, body + 16 * i + 8, 4);
		if (no < h->pool_len && !strcmp(pool + no, "fn_9"))
			break;
	}
	CHECK(i < h->nsyms);
	memcpy(&a, body + 16 * i, 8);
	a += 0x10;
	memcpy(body + 16 * i, &a, 8);
	prof_rehash(b);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_testmem_create(ctx, r.mem, MEM, 0, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, MEM, 0));
	QVMI_OPTS(qvmi_linux_opts, lo, .cache_dir = r.dir);
	CHECK_OK(qvmi_linux_open(ctx, &lo, &lx));
	CHECK(lx->syms_lazy);
	unlink(r.path);
	fd = open(r.path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, b, r.len) == (ssize_t)r.len);
	close(fd);
	CHECK_OK(qvmi_linux_sym_name(lx, KVA + 0x1000 + 0x20 * 9 + 1, name,
				     sizeof(name), &a));
	CHECK_STR(name, "fn_9");
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	free(b);
	prof_stop(&r);
}

/* ---- the memo beside the profile ----------------------------------------- */

/* One SYM record: name at _text + rel_v (relative to _text). */
static size_t memo_rec(uint8_t *p, const char *name, uint64_t rel_v)
{
	uint16_t l[3] = { (uint16_t)strlen(name), 0, 0 };

	memset(p, 0, 40);
	p[0] = QVMI_MEMO_SYM;
	p[2] = 1; /* relative */
	memcpy(p + 8, &rel_v, 8);
	memcpy(p + 32, l, 6);
	memcpy(p + 40, name, l[0]);
	return 40 + l[0];
}

/* A memo of n records (fn_7 moved onto fn_5 first, then fillers of flen
 * bytes of name), plus tail bytes inside body_len and after it. */
static uint8_t *memo_make(uint32_t n, size_t flen, size_t tail_in,
			  size_t tail_out, size_t *len)
{
	size_t cap = 32 + (size_t)n * (40 + flen + 8) + tail_in + tail_out;
	uint8_t *b = calloc(1, cap), *p = b + 32;
	char *fill = malloc(flen + 1);
	uint64_t body_len, h = 0xcbf29ce484222325ull;
	uint32_t v = 1;

	CHECK(b && fill);
	p += memo_rec(p, "fn_7", 0x1000 + 0x20 * 5);
	for (uint32_t i = 1; i < n; i++) {
		snprintf(fill, flen + 1, "%0*u", (int)flen, i);
		p += memo_rec(p, fill, 0);
	}
	p += tail_in; /* zeros */
	body_len = (uint64_t)(p - b - 32);
	for (uint8_t *q = b + 32; q < p; q++)
		h = (h ^ *q) * 0x100000001b3ull;
	memcpy(b, "QVMIMEMO", 8);
	memcpy(b + 8, &v, 4);
	memcpy(b + 12, &n, 4);
	memcpy(b + 16, &body_len, 8);
	memcpy(b + 24, &h, 8);
	*len = (size_t)(p - b) + tail_out;
	free(fill);
	return b;
}

/* Open with the profile (as written) and this memo; fn_7's address. */
static uint64_t memo_fn7(struct prof_rig *r, const uint8_t *m, size_t len)
{
	char path[310];
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *src;
	struct qvmi_linux *lx = NULL;
	uint64_t a = 0;
	int fd;

	snprintf(path, sizeof(path), "%.*s.memo", (int)strlen(r->path) - 5,
		 r->path);
	unlink(r->path);
	fd = open(r->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, r->orig, r->len) == (ssize_t)r->len);
	close(fd);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0 && write(fd, m, len) == (ssize_t)len);
	close(fd);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_testmem_create(ctx, r->mem, MEM, 0, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, MEM, 0));
	QVMI_OPTS(qvmi_linux_opts, lo, .cache_dir = r->dir);
	CHECK_OK(qvmi_linux_open(ctx, &lo, &lx));
	CHECK_OK(qvmi_linux_sym_addr(lx, "fn_7", &a));
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	return a;
}

static void memo_crafted(void)
{
	const uint64_t fn5 = KVA + 0x1000 + 0x20 * 5, fn7 = fn5 + 0x40;
	struct prof_rig r;
	uint8_t *m;
	size_t len;

	prof_start(&r);
	/* a crafted memo with a valid checksum is used: fn_7 moved */
	m = memo_make(2, 8, 0, 0, &len);
	CHECK_U64(memo_fn7(&r, m, len), ==, fn5);
	free(m);
	/* a byte after body_len */
	m = memo_make(2, 8, 0, 1, &len);
	CHECK_U64(memo_fn7(&r, m, len), ==, fn7);
	free(m);
	/* bytes after the records, inside body_len: fewer than a record's
	 * fixed part, then a fixed part whose name runs past the body (both
	 * over-reads only ASan sees: judged with it) */
	m = memo_make(2, 8, 8, 0, &len);
	CHECK_U64(memo_fn7(&r, m, len), ==, fn7); /* 2 records: p != end */
	{
		uint32_t n3 = 3; /* a third record, in those 8 bytes */

		memcpy(m + 12, &n3, 4);
	}
	CHECK_U64(memo_fn7(&r, m, len), ==, fn7);
	free(m);
	m = memo_make(2, 8, 40, 0, &len);
	{
		uint16_t l0 = 100;
		uint32_t n3 = 3;
		uint64_t h = 0xcbf29ce484222325ull;

		m[len - 40] = QVMI_MEMO_SYM;
		memcpy(m + len - 8, &l0, 2);
		memcpy(m + 12, &n3, 4);
		for (uint8_t *c = m + 32; c < m + len; c++)
			h = (h ^ *c) * 0x100000001b3ull;
		memcpy(m + 24, &h, 8);
	}
	CHECK_U64(memo_fn7(&r, m, len), ==, fn7);
	free(m);
	/* a member record whose path is 1024 bytes, then 1025 */
	for (uint16_t pl = 1024; pl <= 1025; pl++) {
		uint8_t *q, *b;
		uint16_t l[3] = { 4, pl, 0 };
		uint64_t body_len, h = 0xcbf29ce484222325ull;
		uint32_t n = 3;

		m = memo_make(2, 8, 0, 1100, &len);
		q = m + len - 1100;
		b = m + 32;
		memset(q, 0, 40);
		q[0] = QVMI_MEMO_MEMBER;
		q[1] = 1;
		q[4] = (uint8_t)-ENOENT; /* err -ENOENT, little endian */
		memset(q + 5, 0xff, 3);
		memcpy(q + 32, l, 6);
		memcpy(q + 40, "task", 4);
		memset(q + 44, 'm', pl);
		memcpy(&body_len, m + 16, 8);
		body_len += 40 + 4 + pl;
		for (uint8_t *c = b; c < b + body_len; c++)
			h = (h ^ *c) * 0x100000001b3ull;
		memcpy(m + 12, &n, 4);
		memcpy(m + 16, &body_len, 8);
		memcpy(m + 24, &h, 8);
		len = 32 + (size_t)body_len;
		CHECK_U64(memo_fn7(&r, m, len), ==, pl == 1024 ? fn5 : fn7);
		free(m);
	}
	/* 4 MiB and more */
	m = memo_make(4000, 1024, 0, 0, &len);
	CHECK(len > (4 << 20));
	CHECK_U64(memo_fn7(&r, m, len), ==, fn7);
	free(m);
	prof_stop(&r);
}

/* What a session adds to the memo is bounded too: no key over 1 KiB, no
 * more than 4096 answers. */
static void memo_session_bounds(void)
{
	struct prof_rig r;
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *src;
	struct qvmi_linux *lx = NULL;
	char name[1100];
	uint64_t a;
	size_t n0;

	prof_start(&r);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_testmem_create(ctx, r.mem, MEM, 0, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, MEM, 0));
	QVMI_OPTS(qvmi_linux_opts, lo, .cache_dir = r.dir);
	CHECK_OK(qvmi_linux_open(ctx, &lo, &lx));
	n0 = lx->memo.n;
	memset(name, 'q', 1025);
	name[1025] = '\0';
	CHECK_INT(qvmi_linux_sym_addr(lx, name, &a), ==, -ENOENT);
	CHECK_INT(lx->memo.n, ==, n0);
	name[1024] = '\0';
	CHECK_INT(qvmi_linux_sym_addr(lx, name, &a), ==, -ENOENT);
	CHECK_INT(lx->memo.n, ==, n0 + 1);
	for (int i = 0; i < 4200; i++) {
		snprintf(name, sizeof(name), "nosuch_%d", i);
		CHECK_INT(qvmi_linux_sym_addr(lx, name, &a), ==, -ENOENT);
	}
	CHECK_INT(lx->memo.n, ==, 4096);
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	prof_stop(&r);
}

static const struct qvmi_test bounds_cache_tests[] = {
	{ "layout_parse_bounds", layout_parse_bounds },
	{ "layout_file_refused", layout_file_refused },
	{ "layout_contradicts_live", layout_contradicts_live },
	{ "profile_hdr_mirror", profile_hdr_mirror },
	{ "profile_crafted_hdr", profile_crafted_hdr },
	{ "profile_crafted_body", profile_crafted_body },
	{ "profile_replaced_after_open", profile_replaced_after_open },
	{ "memo_crafted", memo_crafted },
	{ "memo_session_bounds", memo_session_bounds },
	{ "profile_per_image", profile_per_image },
};

QVMI_SUITE(bounds_cache, bounds_cache_tests);
