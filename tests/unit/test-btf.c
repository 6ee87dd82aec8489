// SPDX-License-Identifier: LGPL-2.1-or-later
/* BTF blobs built with libbpf: member paths, sizes, corrupt blobs; and the
 * whole discovery (qvmi_linux_open) over a synthetic kernel image. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "harness.h"
#include "ksyms-build.h"
#include "qvmi.h"
#include "core/internal.h"
#include "os/linux/linux.h"

/*
 * struct task {                      offset
 *	int pid;                          0
 *	union {                           8
 *		long x;
 *		struct { int y; int z; };
 *	};
 *	inner_t in;  (typedef struct inner { int a; int b; })  16
 *	char comm[16];                    24
 *	int flags:3;                      bit 320
 * };                                 size 48
 */
static void *make_btf(uint32_t *size)
{
	struct btf *btf = btf__new_empty();
	int i_int, i_long, i_char, i_arr, i_inner, i_anon_s, i_anon_u, i_td;
	const void *raw;
	void *copy;

	CHECK(btf);
	i_int = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	i_long = btf__add_int(btf, "long", 8, BTF_INT_SIGNED);
	i_char = btf__add_int(btf, "char", 1, BTF_INT_CHAR);
	i_arr = btf__add_array(btf, i_int, i_char, 16);
	i_inner = btf__add_struct(btf, "inner", 8);
	CHECK_OK(btf__add_field(btf, "a", i_int, 0, 0));
	CHECK_OK(btf__add_field(btf, "b", i_int, 32, 0));
	i_anon_s = btf__add_struct(btf, NULL, 8);
	CHECK_OK(btf__add_field(btf, "y", i_int, 0, 0));
	CHECK_OK(btf__add_field(btf, "z", i_int, 32, 0));
	i_anon_u = btf__add_union(btf, NULL, 8);
	CHECK_OK(btf__add_field(btf, "x", i_long, 0, 0));
	CHECK_OK(btf__add_field(btf, NULL, i_anon_s, 0, 0));
	i_td = btf__add_typedef(btf, "inner_t", i_inner);
	CHECK(btf__add_struct(btf, "task", 48) > 0);
	CHECK_OK(btf__add_field(btf, "pid", i_int, 0, 0));
	CHECK_OK(btf__add_field(btf, NULL, i_anon_u, 64, 0));
	CHECK_OK(btf__add_field(btf, "in", i_td, 128, 0));
	CHECK_OK(btf__add_field(btf, "comm", i_arr, 192, 0));
	CHECK_OK(btf__add_field(btf, "flags", i_int, 320, 3));
	raw = btf__raw_data(btf, size);
	CHECK(raw);
	copy = malloc(*size);
	CHECK(copy);
	memcpy(copy, raw, *size);
	btf__free(btf);
	return copy;
}

static uint64_t off_of(struct qvmi_ctx *ctx, const struct btf *btf,
		       const char *path)
{
	struct qvmi_linux_member m;

	CHECK_OK(qvmi__btf_member(ctx, btf, "task", path, &m));
	return m.bit_offset / 8;
}

static void test_paths(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_linux_member m;
	struct btf *btf = NULL;
	uint32_t size;
	void *raw = make_btf(&size);
	uint64_t sz;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__btf_load(ctx, raw, size, &btf));
	CHECK_U64(off_of(ctx, btf, "pid"), ==, 0);
	CHECK_U64(off_of(ctx, btf, "x"), ==, 8);
	CHECK_U64(off_of(ctx, btf, "y"), ==, 8);
	CHECK_U64(off_of(ctx, btf, "z"), ==, 12);
	CHECK_U64(off_of(ctx, btf, "in"), ==, 16);
	CHECK_U64(off_of(ctx, btf, "in.b"), ==, 20);
	CHECK_U64(off_of(ctx, btf, "comm"), ==, 24);
	CHECK_U64(off_of(ctx, btf, "comm[3]"), ==, 27);
	CHECK_OK(qvmi__btf_member(ctx, btf, "struct task", "flags", &m));
	CHECK_U64(m.bit_offset, ==, 320);
	CHECK_INT(m.bit_size, ==, 3);
	CHECK_OK(qvmi__btf_member(ctx, btf, "task", "comm", &m));
	CHECK_U64(m.size, ==, 16);
	CHECK_OK(qvmi__btf_member(ctx, btf, "task", "in", &m));
	CHECK_STR(m.type_name, "inner_t");
	CHECK_U64(m.size, ==, 8);
	CHECK_INT(qvmi__btf_member(ctx, btf, "task", "nope", &m), ==, -ENOENT);
	CHECK_INT(qvmi__btf_member(ctx, btf, "task", "in.c", &m), ==, -ENOENT);
	CHECK_INT(qvmi__btf_member(ctx, btf, "nosuch", "a", &m), ==, -ENOENT);
	CHECK_INT(qvmi__btf_member(ctx, btf, "task", "comm[16]", &m), ==,
		  -ERANGE);
	CHECK_INT(qvmi__btf_member(ctx, btf, "task", "pid[0]", &m), ==,
		  -EINVAL);
	CHECK_INT(qvmi__btf_member(ctx, btf, "task", "in..a", &m), ==, -EINVAL);
	CHECK_INT(qvmi__btf_member(ctx, btf, "task", "pid.x", &m), ==, -ENOENT);
	CHECK_OK(qvmi__btf_type_size(ctx, btf, "task", &sz));
	CHECK_U64(sz, ==, 48);
	CHECK_OK(qvmi__btf_type_size(ctx, btf, "inner_t", &sz));
	CHECK_U64(sz, ==, 8);
	CHECK_OK(qvmi__btf_type_size(ctx, btf, "long", &sz));
	CHECK_U64(sz, ==, 8);
	btf__free(btf);
	free(raw);
	qvmi_ctx_destroy(ctx);
}

static void test_corrupt(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct btf *btf = NULL;
	uint32_t size, v;
	uint8_t *raw = make_btf(&size), *c = malloc(size);

	CHECK(c);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(qvmi__btf_load(ctx, raw, size / 2, &btf), ==, -EBADMSG);
	CHECK_INT(qvmi__btf_load(ctx, raw, 10, &btf), ==, -EBADMSG);
	memcpy(c, raw, size);
	c[0] ^= 0xff;
	CHECK_INT(qvmi__btf_load(ctx, c, size, &btf), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "magic"));
	memcpy(c, raw, size);
	v = 0xfffffff0; /* str_len */
	memcpy(c + 20, &v, 4);
	CHECK_INT(qvmi__btf_load(ctx, c, size, &btf), ==, -EBADMSG);
	/* garbage types behind a valid header: libbpf's own checks */
	memcpy(c, raw, size);
	v = 0x1f000000; /* kind 31 does not exist */
	memcpy(c + 24 + 4, &v, 4);
	CHECK_INT(qvmi__btf_load(ctx, c, size, &btf), ==, -EBADMSG);
	CHECK(!btf);
	free(c);
	free(raw);
	qvmi_ctx_destroy(ctx);
}

/* ---- a synthetic kernel in testmem ------------------------------------- */

#define KVA 0xffffffff8a000000ull
enum {
	MEM = 8 << 20,
	TEXT_PA = 4 << 20, /* _text, 2 MiB aligned like the real thing */
	KALLSYMS_OFF = 0x200000, /* tables inside the image (.rodata) */
};

static char fnames[300][12];
static struct kb_layout made_kl; /* where make_kernel put the tables */

/* A kernel image at TEXT_PA: kallsyms (6.4+ layout), banner, phys_base,
 * page_offset_base and a BTF blob; returns the number of symbols. */
static uint64_t make_kernel(uint8_t *mem, uint32_t *bsz)
{
	static const char banner[] = "Linux version 6.9.0-test (x@y) #1 SMP\n";
	struct kb_sym syms[320];
	struct kb_opts o = { KB_NEW, 4, 0, 1 };
	struct kb_layout kl;
	uint8_t *img = mem + TEXT_PA;
	void *blob = make_btf(bsz);
	uint64_t v, n = 0, btf_off = 0x301000;

	syms[n++] = (struct kb_sym){ 0x2000, 'A', "cpu_tss_rw" };
	syms[n++] = (struct kb_sym){ KVA, 'T', "_text" };
	syms[n++] = (struct kb_sym){ KVA + 0x10, 'T', "sym_0123456789" };
	for (int i = 0; i < 300; i++) {
		snprintf(fnames[i], sizeof(fnames[i]), "fn_%d", i);
		syms[n++] = (struct kb_sym){ KVA + 0x1000 + 0x20 * (uint64_t)i,
					     'T', fnames[i] };
	}
	syms[n++] = (struct kb_sym){ KVA + 0x300000, 'D', "linux_banner" };
	syms[n++] = (struct kb_sym){ KVA + 0x300100, 'D', "phys_base" };
	syms[n++] = (struct kb_sym){ KVA + 0x300108, 'D', "page_offset_base" };
	syms[n++] = (struct kb_sym){ KVA + btf_off, 'R', "__start_BTF" };
	syms[n++] = (struct kb_sym){ KVA + btf_off + *bsz, 'R', "__stop_BTF" };
	syms[n++] = (struct kb_sym){ KVA + 0x380000, 'B', "_end" };
	CHECK_OK(kb_build(img, 0x100000 + KALLSYMS_OFF, KALLSYMS_OFF, syms, n,
			  &o, &kl));
	made_kl = kl;
	memcpy(img + 0x300000, banner, sizeof(banner));
	v = TEXT_PA - KVA + QVMI_LINUX_START_KERNEL_MAP; /* phys_base */
	memcpy(img + 0x300100, &v, 8);
	v = 0xffff9a0000000000ull;
	memcpy(img + 0x300108, &v, 8);
	memcpy(img + btf_off, blob, *bsz);
	free(blob);
	return n;
}

static void test_open_synthetic(void)
{
	struct qvmi_linux_info in;
	struct qvmi_linux_sym sy;
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *src;
	struct qvmi_linux *lx = NULL;
	uint8_t *mem = calloc(1, MEM), *img = mem + TEXT_PA;
	uint32_t bsz;
	uint64_t v, n, pa;
	char name[64];

	CHECK(mem);
	n = make_kernel(mem, &bsz);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_testmem_create(ctx, mem, MEM, 0, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, MEM, 0));
	QVMI_OPTS(qvmi_linux_opts, lo, .flags = QVMI_LINUX_NO_CACHE);
	CHECK_OK(qvmi_linux_open(ctx, &lo, &lx));
	CHECK_OK(qvmi_linux_info(lx, &in));
	CHECK_STR(in.release, "6.9.0-test");
	CHECK_STR(in.banner, "Linux version 6.9.0-test (x@y) #1 SMP");
	CHECK_U64(in.text_va, ==, KVA);
	CHECK_U64(in.text_pa, ==, TEXT_PA);
	CHECK_U64(in.kaslr_slide, ==, KVA - 0xffffffff81000000ull);
	CHECK_U64(in.page_offset_base, ==, 0xffff9a0000000000ull);
	CHECK_U64(in.vmalloc_base, ==, 0xffffc90000000000ull); /* default */
	CHECK_U64(in.nsyms, ==, n);
	CHECK_U64(in.btf_size, ==, bsz);
	CHECK_STR(in.layout, "6.4+");
	CHECK_OK(qvmi_linux_sym_addr(lx, "fn_299", &v));
	CHECK_U64(v, ==, KVA + 0x1000 + 0x20 * 299);
	CHECK_OK(qvmi_linux_sym_name(lx, KVA + 0x1000 + 0x20 * 7 + 3, name,
				     sizeof(name), &v));
	CHECK_STR(name, "fn_7");
	CHECK_U64(v, ==, 3);
	CHECK_INT(qvmi_linux_sym_name(lx, KVA + 0x400000, name, 4, &v), ==,
		  -ENOENT);
	CHECK_OK(qvmi_linux_sym_get(lx, 0, &sy));
	CHECK_STR(sy.name, "cpu_tss_rw");
	CHECK_INT(sy.type, ==, 'A');
	CHECK_INT(qvmi_linux_sym_addr(lx, "nosuch", &v), ==, -ENOENT);
	CHECK_OK(qvmi_linux_offset(lx, "task", "z", &v));
	CHECK_U64(v, ==, 12);
	CHECK_INT(qvmi_linux_offset(lx, "task", "flags", &v), ==, -EINVAL);
	CHECK_OK(qvmi_linux_type_size(lx, "task", &v));
	CHECK_U64(v, ==, 48);
	CHECK_OK(qvmi_linux_va_to_pa(lx, KVA + 0x1234, &pa));
	CHECK_U64(pa, ==, TEXT_PA + 0x1234);
	CHECK_OK(qvmi_linux_va_to_pa(lx, 0xffff9a0000001000ull, &pa));
	CHECK_U64(pa, ==, 0x1000);
	CHECK_INT(qvmi_linux_va_to_pa(lx, 0x400000, &pa), ==, -EFAULT);
	qvmi_linux_destroy(lx);

	qvmi_ctx_destroy(ctx);

	/* A hole in guest memory inside the read window, below the tables,
	 * and memory ending right after the image. */
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_testmem_create(ctx, mem, MEM, 0, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, 0x300000, 0));
	CHECK_OK(qvmi_map_add(ctx, src, 0x380000, MEM - 0x380000, 0x380000));
	CHECK_OK(qvmi_linux_open(ctx, &lo, &lx));
	CHECK_OK(qvmi_linux_info(lx, &in));
	CHECK_U64(in.text_pa, ==, TEXT_PA);
	CHECK_U64(in.nsyms, ==, n);
	qvmi_linux_destroy(lx);

	/* A wrong phys_base: no placement agrees, a clean -ENOENT. */
	v = 0x1234000;
	memcpy(img + 0x300100, &v, 8);
	memset(img + 0x300000, 'x', 8);
	CHECK_INT(qvmi_linux_open(ctx, &lo, &lx), ==, -ENOENT);
	qvmi_linux_destroy(NULL);
	qvmi_ctx_destroy(ctx);
	free(mem);
}

/* An ISF (isf_path): its types win over the in-memory BTF, types it lacks
 * still come from BTF, its symbols are moved by the KASLR slide (linked
 * at 0xffffffff81000000, running at KVA). */
static int open_isf(uint8_t *mem, const char *json, struct qvmi_linux **lx,
		    struct qvmi_ctx **ret)
{
	/* Unique per run: engineers and CI may run the suite concurrently. */
	char path[] = "/tmp/qvmi-test-btf-isf-XXXXXX";
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *src;
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	int err;

	CHECK(f && fputs(json, f) >= 0 && !fclose(f));
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_testmem_create(ctx, mem, MEM, 0, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, MEM, 0));
	QVMI_OPTS(qvmi_linux_opts, lo, .flags = QVMI_LINUX_NO_CACHE,
		  .isf_path = path);
	err = qvmi_linux_open(ctx, &lo, lx);
	unlink(path);
	if (err)
		qvmi_ctx_destroy(ctx);
	else
		*ret = ctx;
	return err;
}

#define ISF_HEAD                                                             \
	"{\"metadata\":{},\"enums\":{},\"base_types\":{\"int\":{\"size\":4," \
	"\"signed\":true,\"kind\":\"int\",\"endian\":\"little\"}},"          \
	"\"user_types\":{\"task\":{\"kind\":\"struct\",\"size\":40,"         \
	"\"fields\":{\"z\":{\"offset\":20,\"type\":{\"kind\":\"base\","      \
	"\"name\":\"int\"}}}}},\"symbols\":{\"_text\":{\"address\":"         \
	"18446744071578845184},\"isf_only\":{\"address\":"                   \
	"18446744071578865664},\"isf_pcpu\":{\"address\":129920},"           \
	"\"linux_banner\":{\"address\":"

static void test_open_isf(void)
{
	uint8_t *mem = calloc(1, MEM);
	struct qvmi_linux_info in;
	struct qvmi_linux *lx = NULL;
	struct qvmi_ctx *ctx;
	uint32_t bsz;
	uint64_t v;

	CHECK(mem);
	make_kernel(mem, &bsz);
	/* linux_banner at _text+0x300000, as in the image */
	CHECK_OK(open_isf(mem, ISF_HEAD "18446744071581990912}}}", &lx, &ctx));
	CHECK_OK(qvmi_linux_info(lx, &in));
	CHECK_STR(in.btf_source, "isf");
	CHECK_OK(qvmi_linux_offset(lx, "task", "z", &v));
	CHECK_U64(v, ==, 20); /* the ISF's, not BTF's 12 */
	CHECK_OK(qvmi_linux_type_size(lx, "task", &v));
	CHECK_U64(v, ==, 40);
	CHECK_OK(qvmi_linux_offset(lx, "inner_t", "b", &v)); /* from BTF */
	CHECK_U64(v, ==, 4);
	CHECK_OK(qvmi_linux_sym_addr(lx, "isf_only", &v));
	CHECK_U64(v, ==, KVA + 0x5000);
	/* x86_64 per-CPU offsets (current_task 0x1fb80 on 6.1) and absolute
	 * constants lie below _text: not moved */
	CHECK_OK(qvmi_linux_sym_addr(lx, "isf_pcpu", &v));
	CHECK_U64(v, ==, 0x1fb80);
	CHECK_OK(qvmi_linux_sym_addr(lx, "fn_7", &v));
	CHECK_U64(v, ==, KVA + 0x1000 + 0x20 * 7);
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	/* another build: its linux_banner 8 bytes further */
	CHECK_INT(open_isf(mem, ISF_HEAD "18446744071581990920}}}", &lx, &ctx),
		  ==, -ESTALE);
	/* malformed: the open fails and says where */
	CHECK_INT(open_isf(mem, ISF_HEAD "-1}}}", &lx, &ctx), ==, -EBADMSG);
	free(mem);
}

/* id: the image's identity as an attach would set it (NULL: unknown) */
static struct qvmi_linux *open_cached_id(uint8_t *mem, const char *dir,
					 const char *id, struct qvmi_ctx **ctx)
{
	struct qvmi_source *src;
	struct qvmi_linux *lx = NULL;

	CHECK_OK(qvmi_ctx_create(ctx));
	CHECK_OK(qvmi_source_testmem_create(*ctx, mem, MEM, 0, &src));
	CHECK_OK(qvmi_map_add(*ctx, src, 0, MEM, 0));
	if (id) {
		qvmi__mem_id_set(*ctx, "test %s", id);
		CHECK((*ctx)->mem_id[0]);
	}
	QVMI_OPTS(qvmi_linux_opts, lo, .cache_dir = dir);
	CHECK_OK(qvmi_linux_open(*ctx, &lo, &lx));
	return lx;
}

static struct qvmi_linux *open_cached(uint8_t *mem, const char *dir,
				      struct qvmi_ctx **ctx)
{
	return open_cached_id(mem, dir, NULL, ctx);
}

/* Types the caller names and we cannot read are an error at open, not a
 * handle that answers "no BTF" later (qvmi --btf FILE). */
static void test_btf_path_unreadable(void)
{
	uint8_t *mem = calloc(1, MEM);
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *src;
	struct qvmi_linux *lx = NULL;
	uint32_t bsz;

	CHECK(mem);
	make_kernel(mem, &bsz);
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_testmem_create(ctx, mem, MEM, 0, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, MEM, 0));
	{
		QVMI_OPTS(qvmi_linux_opts, lo,
			  .btf_path = "/nonexistent/vmlinux.btf");

		CHECK(qvmi_linux_open(ctx, &lo, &lx) < 0);
		CHECK(!lx);
		CHECK_MSG(strstr(qvmi_errmsg(ctx),
				 "btf_path /nonexistent/vmlinux.btf"),
			  "%s", qvmi_errmsg(ctx));
	}
	qvmi_ctx_destroy(ctx);
	free(mem);
}

static const char *source_of(uint8_t *mem, const char *dir, uint64_t *fn7)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_linux *lx = open_cached(mem, dir, &ctx);
	struct qvmi_linux_info in;
	const char *src;

	CHECK_OK(qvmi_linux_info(lx, &in));
	src = in.sym_source;
	CHECK_OK(qvmi_linux_sym_addr(lx, "fn_7", fn7));
	CHECK_U64(in.text_pa, ==, TEXT_PA);
	CHECK_U64(in.btf_size, >, 0);
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	return src; /* a static string */
}

/* Overwrite a byte near the end (or in the header) of the file in dir
 * whose name ends with suffix. */
static void corrupt_at(const char *dir, const char *suffix, long off,
		       int whence)
{
	char path[600] = "";
	struct dirent *e;
	DIR *d = opendir(dir);
	FILE *f;

	CHECK(d);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name), k = strlen(suffix);

		if (n > k && !strcmp(e->d_name + n - k, suffix))
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
	}
	closedir(d);
	CHECK(path[0]);
	f = fopen(path, "r+b");
	CHECK(f);
	CHECK(!fseek(f, off, whence));
	CHECK(fputc('#', f) != EOF);
	fclose(f);
}

static void corrupt_tail(const char *dir, const char *suffix)
{
	corrupt_at(dir, suffix, -3, SEEK_END);
}

static void corrupt_head(const char *dir, const char *suffix)
{
	corrupt_at(dir, suffix, 24, SEEK_SET); /* in the banner */
}

static void test_profile_cache(void)
{
	char dir[] = "/tmp/qvmi-prof-XXXXXX", cmd[300];
	uint8_t *mem = calloc(1, MEM);
	uint32_t bsz;
	uint64_t a, pb;

	CHECK(mem && mkdtemp(dir));
	make_kernel(mem, &bsz);
	CHECK_STR(source_of(mem, dir, &a), "kallsyms");
	CHECK_STR(source_of(mem, dir, &a), "cache");
	CHECK_U64(a, ==, KVA + 0x1000 + 0x20 * 7);
	/* Another boot (the BIOS data area's tick count at 0x46c changed):
	 * the dead image the reset left in RAM must not pass for the live
	 * kernel, so the cache is not used (and is rewritten). */
	mem[0x46c] ^= 0x5a;
	CHECK_STR(source_of(mem, dir, &a), "kallsyms");
	CHECK_STR(source_of(mem, dir, &a), "cache");
	/* Same physical place, other virtual slide (phys_base changes with
	 * it): the cache relocates the symbols. */
	pb = TEXT_PA - (KVA + 0x400000) + QVMI_LINUX_START_KERNEL_MAP;
	memcpy(mem + TEXT_PA + 0x300100, &pb, 8);
	CHECK_STR(source_of(mem, dir, &a), "cache");
	CHECK_U64(a, ==, KVA + 0x400000 + 0x1000 + 0x20 * 7);
	/* The answers come from the memo: no table decoded, no BTF parsed. */
	pb = TEXT_PA - KVA + QVMI_LINUX_START_KERNEL_MAP;
	memcpy(mem + TEXT_PA + 0x300100, &pb, 8);
	{
		struct qvmi_ctx *ctx = NULL;
		struct qvmi_linux *lx = open_cached(mem, dir, &ctx);
		char name[32];

		CHECK_OK(qvmi_linux_sym_addr(lx, "fn_7", &a));
		CHECK_U64(a, ==, KVA + 0x1000 + 0x20 * 7);
		CHECK(lx->syms_lazy && !lx->btf && !lx->btfv);
		/* New questions load the rest, and are right. */
		CHECK_OK(qvmi_linux_offset(lx, "task", "z", &a));
		CHECK_U64(a, ==, 12);
		CHECK_INT(qvmi_linux_offset(lx, "task", "flags", &a), ==,
			  -EINVAL);
		CHECK_OK(qvmi_linux_type_size(lx, "task", &a));
		CHECK_U64(a, ==, 48);
		CHECK(lx->btfv != NULL); /* in place, not libbpf */
		CHECK_INT(qvmi_linux_sym_addr(lx, "nosuch", &a), ==, -ENOENT);
		CHECK(!lx->syms_lazy);
		CHECK_OK(qvmi_linux_sym_name(lx, KVA + 0x1000 + 0x20 * 9 + 1,
					     name, sizeof(name), &a));
		CHECK_STR(name, "fn_9");
		qvmi_linux_destroy(lx);
		qvmi_ctx_destroy(ctx);
	}
	/* ... and were saved: the misses too. */
	{
		struct qvmi_ctx *ctx = NULL;
		struct qvmi_linux *lx = open_cached(mem, dir, &ctx);

		CHECK_INT(qvmi_linux_sym_addr(lx, "nosuch", &a), ==, -ENOENT);
		CHECK_OK(qvmi_linux_type_size(lx, "task", &a));
		CHECK_U64(a, ==, 48);
		CHECK_OK(qvmi_linux_offset(lx, "task", "z", &a));
		CHECK_U64(a, ==, 12);
		CHECK_INT(qvmi_linux_offset(lx, "task", "flags", &a), ==,
			  -EINVAL); /* a bitfield, from the memo too */
		CHECK(lx->syms_lazy && !lx->btf && !lx->btfv);
		qvmi_linux_destroy(lx);
		qvmi_ctx_destroy(ctx);
	}
	/* A damaged memo is ignored; a damaged table (checked when first
	 * needed) is replaced by decoding memory, and the profile rewritten. */
	corrupt_tail(dir, ".memo");
	corrupt_tail(dir, ".prof");
	{
		struct qvmi_ctx *ctx = NULL;
		struct qvmi_linux *lx = open_cached(mem, dir, &ctx);
		struct qvmi_linux_info in;
		char name[32];

		CHECK(lx->memo.dirty); /* started over: open asked anew */
		CHECK_OK(qvmi_linux_sym_name(lx, KVA + 0x1000 + 0x20 * 7 + 3,
					     name, sizeof(name), &a));
		CHECK_STR(name, "fn_7");
		CHECK_OK(qvmi_linux_info(lx, &in));
		CHECK_STR(in.sym_source, "kallsyms");
		qvmi_linux_destroy(lx);
		qvmi_ctx_destroy(ctx);
	}
	{
		struct qvmi_ctx *ctx = NULL;
		struct qvmi_linux *lx = open_cached(mem, dir, &ctx);
		struct qvmi_linux_sym sy;

		CHECK_OK(qvmi_linux_sym_get(lx, 0, &sy));
		CHECK_STR(sy.name, "cpu_tss_rw");
		CHECK(!lx->syms_lazy);
		CHECK_STR(lx->sym_source, "cache");
		qvmi_linux_destroy(lx);
		qvmi_ctx_destroy(ctx);
	}
	/* A corrupt header is refused at open: back to the scan. */
	corrupt_head(dir, ".prof");
	CHECK_STR(source_of(mem, dir, &a), "kallsyms"); /* and rewritten */
	CHECK_STR(source_of(mem, dir, &a), "cache");
	/* Another kernel build in memory (token table changed): not used. */
	{
		uint8_t *t =
			memmem(mem + TEXT_PA, 0x380000, "7\0\x38\0\x39", 5);

		CHECK(t);
		t[4] = 'Z'; /* token "9" */
	}
	{
		struct qvmi_ctx *ctx = NULL;
		struct qvmi_source *src;
		struct qvmi_linux *lx = NULL;

		CHECK_OK(qvmi_ctx_create(&ctx));
		CHECK_OK(qvmi_source_testmem_create(ctx, mem, MEM, 0, &src));
		CHECK_OK(qvmi_map_add(ctx, src, 0, MEM, 0));
		QVMI_OPTS(qvmi_linux_opts, lo, .cache_dir = dir);
		CHECK(qvmi_linux_open(ctx, &lo, &lx) < 0 || lx);
		if (lx) {
			struct qvmi_linux_info in;

			CHECK_OK(qvmi_linux_info(lx, &in));
			CHECK(strcmp(in.sym_source, "cache"));
		}
		qvmi_linux_destroy(lx);
		qvmi_ctx_destroy(ctx);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(!system(cmd));
	free(mem);
}

/* Where the symbols came from, and fn_7's address (0 if none). */
static const char *poison_src_id(uint8_t *mem, const char *dir, const char *id,
				 uint64_t *fn7)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_linux *lx = open_cached_id(mem, dir, id, &ctx);
	struct qvmi_linux_info in;
	const char *src;

	CHECK_OK(qvmi_linux_info(lx, &in));
	src = in.sym_source;
	if (qvmi_linux_sym_addr(lx, "fn_7", fn7))
		*fn7 = 0;
	qvmi_linux_destroy(lx);
	qvmi_ctx_destroy(ctx);
	return src;
}

static const char *poison_src(uint8_t *mem, const char *dir, uint64_t *fn7)
{
	return poison_src_id(mem, dir, NULL, fn7);
}

/* The symbols' own entry in kallsyms_names: byte 0 is the length. */
static uint8_t *name_entry(uint8_t *img, size_t idx)
{
	uint8_t *p = img + made_kl.names;

	while (idx--)
		p += 1 + *p;
	return p;
}

/*
 * A profile learnt from damaged names (a corrupt dump) must not be used
 * for the clean memory of the same boot: the tokens and the banner agree,
 * the names do not.  Found by fuzzing dumps: `sym kobj_ns_ops` said "no
 * symbol" and its address resolved to "tekobj_ns_ops" from then on.
 * Also: a cache file someone else can write is never read.
 */
static void test_profile_poison(void)
{
	char dir[] = "/tmp/qvmi-prof-XXXXXX", cmd[300];
	uint8_t *mem = calloc(1, MEM), *e7, *e8, keep;
	uint32_t bsz;
	uint64_t a;

	CHECK(mem && mkdtemp(dir));
	make_kernel(mem, &bsz);
	/* entries 0-2 are cpu_tss_rw, _text, sym_0123456789; fn_7 is 10 */
	e7 = name_entry(mem + TEXT_PA, 10);
	e8 = name_entry(mem + TEXT_PA, 11);
	CHECK(e7[0] == e8[0] && e7[e7[0]] != e8[e8[0]]);
	keep = e7[e7[0]];
	e7[e7[0]] = e8[e8[0]]; /* fn_7 now decodes as fn_8 */
	CHECK_STR(poison_src(mem, dir, &a), "kallsyms");
	CHECK_U64(a, ==, 0); /* no fn_7 in the damaged table */
	CHECK_STR(poison_src(mem, dir, &a), "cache"); /* the poisoned one */
	e7[e7[0]] = keep;
	CHECK_STR(poison_src(mem, dir, &a), "kallsyms");
	CHECK_U64(a, ==, KVA + 0x1000 + 0x20 * 7); /* fn_7, right */
	CHECK_STR(poison_src(mem, dir, &a), "cache");
	CHECK_U64(a, ==, KVA + 0x1000 + 0x20 * 7);
	/* group- or world-writable, or not ours: refused */
	snprintf(cmd, sizeof(cmd), "chmod 0666 %s/linux-*.prof", dir);
	CHECK(!system(cmd));
	CHECK_STR(poison_src(mem, dir, &a), "kallsyms");
	snprintf(cmd, sizeof(cmd),
		 "chmod 0600 %s/linux-*.prof && "
		 "chown 65534 %s/linux-*.prof",
		 dir, dir);
	if (geteuid() == 0 && !system(cmd))
		CHECK_STR(poison_src(mem, dir, &a), "kallsyms");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(!system(cmd));
	free(mem);
}

/*
 * The kallsyms tables are re-hashed unless the profile was learnt from this
 * very image (ctx->mem_id: the same QEMU process, or the same unchanged
 * dump file): another image of the same boot, such as the clean dump after
 * a damaged one, is still caught.
 */
static void test_profile_same_image(void)
{
	char dir[] = "/tmp/qvmi-prof-XXXXXX", cmd[300];
	uint8_t *mem = calloc(1, MEM), *e7, *e8, keep;
	uint32_t bsz;
	uint64_t a;

	CHECK(mem && mkdtemp(dir));
	make_kernel(mem, &bsz);
	e7 = name_entry(mem + TEXT_PA, 10);
	e8 = name_entry(mem + TEXT_PA, 11);
	keep = e7[e7[0]];
	e7[e7[0]] = e8[e8[0]]; /* damaged image "A" */
	CHECK_STR(poison_src_id(mem, dir, "A", &a), "kallsyms");
	CHECK_STR(poison_src_id(mem, dir, "A", &a), "cache");
	/* Observable only by changing the image under its id: "A" is
	 * trusted to be what was hashed, so the damage is not looked for
	 * again (with the 1.3 MB hash, this answer would be "kallsyms"). */
	e7[e7[0]] = keep;
	CHECK_STR(poison_src_id(mem, dir, "A", &a), "cache");
	CHECK_U64(a, ==, 0);
	/* the clean image "B" of the same boot */
	CHECK_STR(poison_src_id(mem, dir, "B", &a), "kallsyms");
	CHECK_U64(a, ==, KVA + 0x1000 + 0x20 * 7);
	/* learnt from "B": "B" again and an unknown image both use it */
	CHECK_STR(poison_src_id(mem, dir, "B", &a), "cache");
	CHECK_STR(poison_src_id(mem, dir, NULL, &a), "cache");
	CHECK_U64(a, ==, KVA + 0x1000 + 0x20 * 7);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(!system(cmd));
	free(mem);
}

/* Anonymous members nested with a wide fan-out: 3 levels of 100 anonymous
 * members each is a million members to search.  The lookup must stop
 * after its budget, and still find a member before the budget runs out. */
static void test_anon_fanout(void)
{
	struct btf *btf = btf__new_empty();
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_linux_member m;
	int i_int, lvl, prev, i;

	CHECK(btf);
	CHECK_OK(qvmi_ctx_create(&ctx));
	i_int = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	prev = btf__add_struct(btf, NULL, 4);
	CHECK_OK(btf__add_field(btf, "leaf", i_int, 0, 0));
	for (lvl = 0; lvl < 3; lvl++) {
		int u = btf__add_union(btf, lvl == 2 ? "wide" : NULL, 4);

		CHECK(u > 0);
		CHECK_OK(btf__add_field(btf, "first", i_int, 0, 0));
		for (i = 0; i < 100; i++)
			CHECK_OK(btf__add_field(btf, NULL, prev, 0, 0));
		prev = u;
	}
	CHECK_OK(qvmi__btf_member(ctx, btf, "wide", "first", &m));
	/* "leaf" is first found deep inside the first branch: reachable */
	CHECK_OK(qvmi__btf_member(ctx, btf, "wide", "leaf", &m));
	/* a missing name must search everything: stopped, not hung */
	CHECK_INT(qvmi__btf_member(ctx, btf, "wide", "nope", &m), ==, -ELOOP);
	CHECK(strstr(qvmi_errmsg(ctx), "members searched"));
	qvmi_ctx_destroy(ctx);
	btf__free(btf);
}

/* The in-place view answers exactly as libbpf does, on every path of the
 * test type and on each type by name. */
static void test_view_same_answers(void)
{
	static const char *const paths[] = {
		"pid",	    "x",      "y",	 "z",	  "in",	  "in.a",
		"in.b",	    "comm",   "comm[3]", "flags", "nope", "in.c",
		"comm[16]", "pid[0]", "in..a",	 "pid.x",
	};
	static const char *const types[] = { "task",	   "struct task",
					     "inner_t",	   "long",
					     "int",	   "inner",
					     "union task", "nosuch" };
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_btf_view *v = NULL;
	struct btf *btf = NULL;
	uint32_t size;
	void *raw = make_btf(&size);

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__btf_load(ctx, raw, size, &btf));
	CHECK_OK(qvmi__btf_view_open(ctx, raw, size, &v));
	CHECK_U64(qvmi__btf_view_size(v), ==, size);
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(paths); i++) {
		struct qvmi_linux_member a, b;
		int ea = qvmi__btf_member(ctx, btf, "task", paths[i], &a);
		int eb = qvmi__btf_view_member(ctx, v, "task", paths[i], &b);

		CHECK_MSG(ea == eb, "%s: %d vs %d", paths[i], ea, eb);
		if (ea || eb)
			continue;
		CHECK_U64(a.bit_offset, ==, b.bit_offset);
		CHECK_INT(a.bit_size, ==, b.bit_size);
		CHECK_U64(a.size, ==, b.size);
		CHECK_INT(a.type_id, ==, b.type_id);
		CHECK_STR(a.type_name, b.type_name);
	}
	for (size_t i = 0; i < QVMI_ARRAY_SIZE(types); i++) {
		uint64_t a = 0, b = 0;
		int ea = qvmi__btf_type_size(ctx, btf, types[i], &a);
		int eb = qvmi__btf_view_type_size(ctx, v, types[i], &b);

		CHECK_MSG(ea == eb, "%s: %d vs %d", types[i], ea, eb);
		CHECK_U64(a, ==, b);
	}
	qvmi__btf_view_free(v);
	btf__free(btf);
	free(raw);
	qvmi_ctx_destroy(ctx);
}

/* Damage the view must refuse at open, and a hostile type id it must not
 * follow out of the table. */
static void test_view_corrupt(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_btf_view *v = NULL;
	struct qvmi_linux_member m;
	uint32_t size, w, hdr_len, str_off, type_len;
	uint8_t *raw = make_btf(&size), *c = malloc(size);

	CHECK(c);
	CHECK_OK(qvmi_ctx_create(&ctx));
	memcpy(&hdr_len, raw + 4, 4);
	memcpy(&type_len, raw + 12, 4);
	memcpy(&str_off, raw + 16, 4);
	CHECK_INT(qvmi__btf_view_open(ctx, raw, size / 2, &v), ==, -EBADMSG);
	CHECK_INT(qvmi__btf_view_open(ctx, raw, 10, &v), ==, -EBADMSG);
	/* an unknown kind */
	memcpy(c, raw, size);
	w = 0x1f000000;
	memcpy(c + hdr_len + 4, &w, 4);
	CHECK_INT(qvmi__btf_view_open(ctx, c, size, &v), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "unknown kind"));
	/* a struct whose members run off the type section */
	memcpy(c, raw, size);
	w = type_len - 4;
	memcpy(c + 12, &w, 4);
	CHECK_INT(qvmi__btf_view_open(ctx, c, size, &v), ==, -EBADMSG);
	/* strings not NUL-terminated */
	memcpy(c, raw, size);
	c[hdr_len + str_off] = 'x';
	CHECK_INT(qvmi__btf_view_open(ctx, c, size, &v), ==, -EBADMSG);
	CHECK(!v);
	/* the first member of "task" (pid, type 1) pointing past the table:
	 * task is the 9th type; its members follow its 12-byte record */
	memcpy(c, raw, size);
	{
		uint32_t off = 0, id = 0;
		const uint8_t *t = c + hdr_len;

		/* walk to the record named "task" (kind struct, vlen 5) */
		while (off < type_len && id < 64) {
			uint32_t info, vlen, kind, rs;

			memcpy(&info, t + off + 4, 4);
			vlen = info & 0xffff;
			kind = (info >> 24) & 0x1f;
			rs = 12 + (kind == 1		  ? 4 :
				   kind == 3		  ? 12 :
				   kind == 4 || kind == 5 ? 12 * vlen :
							    0);
			if (kind == 4 && vlen == 5)
				break;
			off += rs;
			id++;
		}
		CHECK(off < type_len);
		w = 0x7fffffff; /* member 0's type */
		memcpy(c + hdr_len + off + 12 + 4, &w, 4);
	}
	CHECK_OK(qvmi__btf_view_open(ctx, c, size, &v));
	CHECK_INT(qvmi__btf_view_member(ctx, v, "task", "pid.x", &m), ==,
		  -EBADMSG);
	CHECK_OK(qvmi__btf_view_member(ctx, v, "task", "pid", &m));
	CHECK_U64(m.size, ==, 0); /* no such type: no size */
	qvmi__btf_view_free(v);
	free(c);
	free(raw);
	qvmi_ctx_destroy(ctx);
}

static const struct qvmi_test btf_tests[] = {
	{ "anon_fanout", test_anon_fanout },
	{ "paths", test_paths },
	{ "corrupt", test_corrupt },
	{ "view_same_answers", test_view_same_answers },
	{ "view_corrupt", test_view_corrupt },
	{ "open_synthetic", test_open_synthetic },
	{ "open_isf", test_open_isf },
	{ "profile_cache", test_profile_cache },
	{ "profile_poison", test_profile_poison },
	{ "profile_same_image", test_profile_same_image },
	{ "btf_path_unreadable", test_btf_path_unreadable },
};
QVMI_SUITE(btf, btf_tests);
