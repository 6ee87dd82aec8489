// SPDX-License-Identifier: LGPL-2.1-or-later
/* Volatility ISF JSON: member paths, sizes, symbols and their slide,
 * malformed documents; and the task walk of the synthetic kernel with its
 * types from an ISF converted from its BTF (no BTF loaded). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <json-c/json.h>

#include "fake-kernel.h"
#include "isf-build.h"
#include "harness.h"
#include "qvmi.h"
#include "os/linux/linux.h"

#define B(n, sz, sg)                                                      \
	"\"" n "\":{\"size\":" #sz ",\"signed\":" sg ",\"kind\":\"int\"," \
	"\"endian\":\"little\"}"
#define BASE(n) "{\"kind\":\"base\",\"name\":\"" n "\"}"
#define PTR(sub) "{\"kind\":\"pointer\",\"subtype\":" sub "}"
#define ST(n) "{\"kind\":\"struct\",\"name\":\"" n "\"}"
#define F(n, off, t) "\"" n "\":{\"offset\":" #off ",\"type\":" t "}"

/* 0xffffffff80e00000: _text linked 2 MiB below the fake kernel's. */
#define LINK_TEXT "18446744071576748032"

/*
 * task_struct { int pid @8; sched_entity se @16 {vruntime @24};
 *   char comm[16] @48; list_head tasks @64; mm_struct *mm @80 }  128
 * mm_struct { u32 flags:5 @0 bit 3; enum state_e state @4;
 *   struct { union { void *pgd; ulong raw; }; int count @8 } @16;
 *   list_head arr[2] @32 }  64
 */
static const char good[] =
	"{\"metadata\":{\"format\":\"6.2.0\",\"producer\":{\"name\":\"t\"}},"
	"\"base_types\":{" B("int", 4, "true") "," B("unsigned int", 4, "false") "," B("long unsigned int", 8, "false") "," B("char", 1, "true") "," B("pointer", 8, "false") "," B(
		"void", 0,
		"false") "},"
			 "\"user_types\":{"
			 "\"list_head\":{\"kind\":\"struct\",\"size\":16,\"fields\":{" F("next", 0, PTR(ST("list_head"))) "," F(
				 "prev", 8,
				 PTR(ST("list_head"))) "}},"
						       "\"sched_entity\":{\"kind\":\"struct\",\"size\":32,\"fields\":{" F("load", 0, BASE("long unsigned int")) "," F(
							       "vruntime", 24,
							       BASE("long unsigned int")) "}},"
											  "\"unnamed_1\":{\"kind\":\"union\",\"size\":8,\"fields\":{" F("pgd", 0, PTR(BASE("void"))) "," F(
												  "raw",
												  0,
												  BASE("long unsigned int")) "}},"
															     "\"unnamed_2\":{\"kind\":\"struct\",\"size\":16,\"fields\":{" F("unnamed_field_0", 0, "{\"kind\":\"union\",\"name\":\"unnamed_1\"}") "," F(
																     "count",
																     8,
																     BASE("int")) "}},"
																		  "\"mm_struct\":{\"kind\":\"struct\",\"size\":64,\"fields\":{" F(
																			  "flags",
																			  0,
																			  "{\"kind\":\"bitfield\",\"bit_position\":3,\"bit_length\":5,"
																			  "\"type\":" BASE(
																				  "unsigned int") "}") "," F("state",
																							     4,
																							     "{\"kind\":\"enum\",\"name\":\"state_e\"}") "," F("unnamed_field_10",
																													       16,
																													       ST("unnamed_2")) "," F("arr",
																																      32,
																																      "{\"kind\":\"array\",\"count\":2,\"subtype\":" ST(
																																	      "list_head") "}") "}},"
																																				"\"task_struct\":{\"kind\":\"struct\",\"size\":128,\"fields\":{" F("pid", 8, BASE("int")) "," F("se", 16, ST("sched_entity")) "," F(
																																					"comm",
																																					48,
																																					"{\"kind\":\"array\",\"count\":16,\"subtype\":" BASE(
																																						"char") "}") "," F("tasks",
																																								   64,
																																								   ST("list_head")) "," F("mm",
																																											  80,
																																											  PTR(ST("mm_struct"))) "}}},"
																																														"\"enums\":{\"state_e\":{\"size\":4,\"base\":\"unsigned int\","
																																														"\"constants\":{\"A\":0,\"B\":1}}},"
																																														"\"symbols\":{\"_text\":{\"address\":" LINK_TEXT
																																														"},"
																																														"\"init_task\":{\"address\":18446744071576752128,\"type\":" ST(
																																															"task_struct") "},"
																																																       "\"cpu_number\":{\"address\":4096}}}\n";

static struct qvmi_isf *load(struct qvmi_ctx *ctx, const char *s)
{
	struct qvmi_isf *isf = NULL;

	CHECK_OK(qvmi__isf_load(ctx, s, strlen(s), &isf));
	return isf;
}

static void member(struct qvmi_ctx *ctx, struct qvmi_isf *isf, const char *type,
		   const char *path, uint64_t bits, uint32_t bitsz,
		   uint64_t size, const char *tname)
{
	struct qvmi_linux_member m;

	CHECK_MSG(!qvmi__isf_member(ctx, isf, type, path, &m), "%s.%s: %s",
		  type, path, qvmi_errmsg(ctx));
	CHECK_U64(m.bit_offset, ==, bits);
	CHECK_INT(m.bit_size, ==, bitsz);
	CHECK_U64(m.size, ==, size);
	CHECK_STR(m.type_name, tname);
}

static void test_members(void)
{
	struct qvmi_linux_member m;
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf;
	uint64_t v;

	CHECK_OK(qvmi_ctx_create(&ctx));
	isf = load(ctx, good);
	member(ctx, isf, "task_struct", "pid", 64, 0, 4, "int");
	member(ctx, isf, "struct task_struct", "se.vruntime", 320, 0, 8,
	       "long unsigned int");
	member(ctx, isf, "task_struct", "comm", 384, 0, 16, "");
	member(ctx, isf, "task_struct", "comm[3]", 408, 0, 1, "char");
	member(ctx, isf, "task_struct", "tasks.next", 512, 0, 8, "");
	member(ctx, isf, "task_struct", "mm", 640, 0, 8, "");
	/* through an anonymous struct and an anonymous union in it */
	member(ctx, isf, "mm_struct", "pgd", 128, 0, 8, "");
	member(ctx, isf, "mm_struct", "raw", 128, 0, 8, "long unsigned int");
	member(ctx, isf, "mm_struct", "count", 192, 0, 4, "int");
	member(ctx, isf, "mm_struct", "flags", 3, 5, 4, "unsigned int");
	member(ctx, isf, "mm_struct", "state", 32, 0, 4, "state_e");
	member(ctx, isf, "mm_struct", "arr[1].prev", 448, 0, 8, "");
	CHECK_INT(qvmi__isf_member(ctx, isf, "task_struct", "nope", &m), ==,
		  -ENOENT);
	CHECK_INT(qvmi__isf_member(ctx, isf, "task_struct", "comm[16]", &m), ==,
		  -ERANGE);
	CHECK_INT(qvmi__isf_member(ctx, isf, "task_struct", "pid.x", &m), ==,
		  -EINVAL);
	CHECK_INT(qvmi__isf_member(ctx, isf, "task_struct", "pid[0]", &m), ==,
		  -EINVAL);
	CHECK_INT(qvmi__isf_member(ctx, isf, "task_struct", "se..load", &m), ==,
		  -EINVAL);
	CHECK_INT(qvmi__isf_member(ctx, isf, "union task_struct", "pid", &m),
		  ==, -ENOENT);
	CHECK_INT(qvmi__isf_member(ctx, isf, "int", "x", &m), ==, -ENOENT);
	/* the anonymous member itself is not addressable by a bogus name */
	CHECK_INT(qvmi__isf_member(ctx, isf, "mm_struct", "unnamed", &m), ==,
		  -ENOENT);
	CHECK_OK(qvmi__isf_type_size(ctx, isf, "task_struct", &v));
	CHECK_U64(v, ==, 128);
	CHECK_OK(qvmi__isf_type_size(ctx, isf, "struct mm_struct", &v));
	CHECK_U64(v, ==, 64);
	CHECK_OK(qvmi__isf_type_size(ctx, isf, "long unsigned int", &v));
	CHECK_U64(v, ==, 8);
	CHECK_OK(qvmi__isf_type_size(ctx, isf, "enum state_e", &v));
	CHECK_U64(v, ==, 4);
	CHECK_INT(qvmi__isf_type_size(ctx, isf, "nothing", &v), ==, -ENOENT);
	CHECK_OK(qvmi__isf_sym(isf, "init_task", &v));
	CHECK_U64(v, ==, 0xffffffff80e01000ull);
	CHECK_INT(qvmi__isf_sym(isf, "nosuch", &v), ==, -ENOENT);
	CHECK_U64(qvmi__isf_nsyms(isf), ==, 3);
	qvmi__isf_free(isf);
	qvmi_ctx_destroy(ctx);
}

/* good with one substring replaced; the error names `what`. */
static void bad_variant(const char *from, const char *to, const char *what)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf = NULL;
	const char *at = strstr(good, from);
	size_t n = strlen(good) + strlen(to) + 1;
	char *s = malloc(n);

	CHECK_MSG(at, "no \"%s\" in the good ISF", from);
	CHECK(s);
	snprintf(s, n, "%.*s%s%s", (int)(at - good), good, to,
		 at + strlen(from));
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_MSG(qvmi__isf_load(ctx, s, strlen(s), &isf) == -EBADMSG,
		  "%s -> %s: %s", from, to, qvmi_errmsg(ctx));
	CHECK(!isf);
	CHECK_MSG(strstr(qvmi_errmsg(ctx), what), "%s -> %s: \"%s\"", from, to,
		  qvmi_errmsg(ctx));
	qvmi_ctx_destroy(ctx);
	free(s);
}

static void test_malformed(void)
{
	bad_variant("\"kind\":\"pointer\"", "\"kind\":\"ptr\"", "unknown kind");
	bad_variant("\"offset\":80", "\"offset\":-8", "task_struct.mm");
	bad_variant("\"offset\":80", "\"offset\":1e3", "bad \"offset\"");
	bad_variant("\"offset\":80", "\"offset\":99999999999",
		    "task_struct.mm");
	bad_variant("\"offset\":80", "\"offset\":124", "outside");
	bad_variant("\"count\":16", "\"count\":81", "outside");
	bad_variant("\"offset\":4,", "\"offset\":63,", "mm_struct.state");
	bad_variant("\"count\":16", "\"count\":-1", "bad \"count\"");
	bad_variant("\"bit_length\":5", "\"bit_length\":0", "bitfield in");
	bad_variant("\"bit_position\":3", "\"bit_position\":31", "wider");
	bad_variant("\"name\":\"sched_entity\"", "\"name\":\"sched_ent\"",
		    "\"sched_ent\", not defined");
	bad_variant("\"enums\":", "\"enumz\":", "\"enums\"");
	bad_variant("\"symbols\":{", "\"symbols\":[", "JSON");
	bad_variant("\"address\":4096", "\"address\":\"4096\"", "cpu_number");
	bad_variant("\"address\":4096", "\"addr\":4096", "cpu_number");
	bad_variant("\"size\":128", "\"size\":\"128\"", "task_struct");
	bad_variant("\"size\":128", "\"size\":-128", "task_struct");
	bad_variant("\"kind\":\"struct\",\"size\":128",
		    "\"kind\":\"class2\",\"size\":128", "task_struct");
	bad_variant("\"endian\":\"little\"}}", "\"endian\":\"middle\"}}",
		    "void");
	bad_variant("\"constants\":{\"A\":0", "\"constants\":{\"A\":\"x\"",
		    "\"A\"");
	bad_variant("\"metadata\":{\"format\":\"6.2.0\"",
		    "\"metadata\":{\"format\":6", "format");
	bad_variant("\"fields\":{\"pid\"", "\"fieldz\":{\"pid\"",
		    "\"task_struct\": no \"fields\"");
	bad_variant("{\"metadata\"", "[{\"metadata\"", "JSON");
	/* a struct containing itself by value: member lookups through
	 * anonymous members would descend for ever */
	bad_variant("\"load\":{\"offset\":0,\"type\":{\"kind\":\"base\","
		    "\"name\":\"long unsigned int\"}}",
		    "\"load\":{\"offset\":0,\"type\":" ST("sched_entity") "}",
		    "contains itself");
	/* ... and indirectly, through a zero-length array */
	bad_variant("\"raw\":{\"offset\":0,\"type\":{\"kind\":\"base\","
		    "\"name\":\"long unsigned int\"}}",
		    "\"raw\":{\"offset\":0,\"type\":{\"kind\":\"array\","
		    "\"count\":0,\"subtype\":" ST("mm_struct") "}}",
		    "contains itself");
	/* too deep type descriptors */
	{
		bad_variant(
			"\"pid\":{\"offset\":8,\"type\":" BASE("int"),
			"\"pid\":{\"offset\":8,\"type\":" PTR(PTR(PTR(PTR(
				PTR(PTR(PTR(PTR(PTR(PTR(PTR(PTR(PTR(PTR(PTR(PTR(
					PTR(PTR(BASE("int"))))))))))))))))))),
			"nested too deeply");
	}
}

static void test_malformed_json(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf = NULL;
	size_t n = 5000, len = strlen(good);
	char *deep = malloc(2 * n + 1), *trail = malloc(len + 3);

	CHECK(deep && trail);
	CHECK_OK(qvmi_ctx_create(&ctx));
	/* truncated anywhere */
	for (size_t cut = 0; cut < len - 1; cut += 97) {
		CHECK_INT(qvmi__isf_load(ctx, good, cut, &isf), ==, -EBADMSG);
		CHECK(!isf);
	}
	CHECK_INT(qvmi__isf_load(ctx, good, len / 2, &isf), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "truncated"));
	memcpy(trail, good, len);
	memcpy(trail + len, "{}", 3);
	CHECK_INT(qvmi__isf_load(ctx, trail, len + 2, &isf), ==, -EBADMSG);
	/* json-c's strict mode already calls the second value unexpected */
	CHECK_MSG(strstr(qvmi_errmsg(ctx), "trailing") ||
			  strstr(qvmi_errmsg(ctx), "unexpected"),
		  "%s", qvmi_errmsg(ctx));
	/* deep nesting stops at the tokener's depth limit */
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	CHECK_INT(qvmi__isf_load(ctx, deep, 2 * n, &isf), ==, -EBADMSG);
	memset(deep, '{', n);
	CHECK_INT(qvmi__isf_load(ctx, "[]", 2, &isf), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "not a JSON object"));
	CHECK_INT(qvmi__isf_load(ctx, "", 0, &isf), ==, -EBADMSG);
	CHECK_INT(qvmi__isf_load(ctx, "{}", 2, &isf), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "\"metadata\""));
	CHECK_INT(qvmi__isf_load_file(ctx, "/nonexistent/x.json", &isf), ==,
		  -ENOENT);
	qvmi_ctx_destroy(ctx);
	free(deep);
	free(trail);
}

/* ---- through the Linux handle ------------------------------------------- */

static char *write_tmp(const char *text, size_t len)
{
	char *path = strdup("/tmp/qvmi-test-isf-XXXXXX");
	int fd = path ? mkstemp(path) : -1;

	CHECK(fd >= 0);
	CHECK(write(fd, text, len) == (ssize_t)len);
	close(fd);
	return path;
}

/* The fake kernel's handle without its BTF and with only _text in its
 * symbol table: everything else must come from the ISF. */
static void strip(struct fk *k)
{
	struct qvmi_linux *lx = k->lx;

	btf__free(lx->btf);
	lx->btf = NULL;
	qvmi__btf_view_free(lx->btfv);
	lx->btfv = NULL;
	qvmi__ksyms_free(&lx->syms);
	memset(&lx->syms, 0, sizeof(lx->syms));
	CHECK_OK(qvmi__ksyms_add(&lx->syms, k->L->text_va, 'T', "_text", 5));
	CHECK_OK(qvmi__ksyms_finish(&lx->syms));
}

static void test_handle(void)
{
	struct qvmi_linux_info in;
	struct fk k;
	uint64_t v;
	char *path = write_tmp(good, strlen(good));

	CHECK_OK(fk_create(&k, FK_NEW, 4 << 20));
	strip(&k);
	CHECK_INT(qvmi_linux_offset(k.lx, "task_struct", "pid", &v), ==,
		  -ENOENT);
	CHECK_OK(qvmi__linux_load_isf(k.lx, path));
	CHECK_OK(qvmi_linux_info(k.lx, &in));
	CHECK_STR(in.btf_source, "isf");
	CHECK_OK(qvmi_linux_offset(k.lx, "task_struct", "se.vruntime", &v));
	CHECK_U64(v, ==, 40);
	CHECK_OK(qvmi_linux_offset(k.lx, "mm_struct", "count", &v));
	CHECK_U64(v, ==, 24);
	CHECK_INT(qvmi_linux_offset(k.lx, "mm_struct", "flags", &v), ==,
		  -EINVAL);
	CHECK_OK(qvmi_linux_type_size(k.lx, "task_struct", &v));
	CHECK_U64(v, ==, 128);
	/* link-time 0xffffffff80e01000, slid by the 2 MiB of KASLR */
	CHECK_OK(qvmi_linux_sym_addr(k.lx, "init_task", &v));
	CHECK_U64(v, ==, FK_TEXT_VA + 0x1000);
	/* per-CPU symbols (below _text) do not move */
	CHECK_OK(qvmi_linux_sym_addr(k.lx, "cpu_number", &v));
	CHECK_U64(v, ==, 4096);
	CHECK_OK(qvmi_linux_sym_addr(k.lx, "_text", &v));
	CHECK_U64(v, ==, FK_TEXT_VA);
	CHECK_INT(qvmi_linux_sym_addr(k.lx, "nosuch", &v), ==, -ENOENT);
	fk_destroy(&k);
	free(k.mem);
	unlink(path);
	free(path);
}

/* An ISF of another build: linux_banner elsewhere in the image. */
static void test_wrong_build(void)
{
	static const char from[] = "\"cpu_number\"";
	char *s = malloc(sizeof(good) + 128), *path;
	const char *at = strstr(good, from);
	struct fk k;

	CHECK(s && at);
	snprintf(s, sizeof(good) + 128,
		 "%.*s\"linux_banner\":{\"address\":18446744071576756224},%s",
		 (int)(at - good), good, at);
	path = write_tmp(s, strlen(s));
	CHECK_OK(fk_create(&k, FK_NEW, 4 << 20));
	strip(&k);
	CHECK_OK(qvmi__ksyms_add(&k.lx->syms, FK_TEXT_VA + 0x3000, 'D',
				 "linux_banner", 12));
	CHECK_OK(qvmi__ksyms_finish(&k.lx->syms));
	/* 0xffffffff80e02000 is _text+0x2000 there, +0x3000 here */
	CHECK_INT(qvmi__linux_load_isf(k.lx, path), ==, -ESTALE);
	CHECK(strstr(qvmi_errmsg(k.ctx), "another kernel build"));
	fk_destroy(&k);
	free(k.mem);
	unlink(path);
	free(path);
	free(s);
}

static void test_xz(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_isf *isf = NULL;
	char *path = write_tmp("\xfd"
			       "7zXZ\0\0",
			       7);

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(qvmi__isf_load_file(ctx, path, &isf), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(ctx), "xz"));
	qvmi_ctx_destroy(ctx);
	unlink(path);
	free(path);
}

/* ---- the fake kernel's BTF as an ISF -------------------------------------- */

/* dmesg callback: keep the first record (text pointer not kept). */
static int keep_rec(const struct qvmi_linux_log_rec *r, void *arg)
{
	struct qvmi_linux_log_rec *got = arg;

	if (!got[0].text_len && !got[0].seq)
		got[0] = *r;
	return 0;
}

/* As dwarf2json would write it for the fake kernel, linked at link_text. */
static char *fk_isf(enum fk_variant v, uint64_t link_text)
{
	const struct isf_sym syms[] = {
		{ "_text", link_text },
		{ "init_task", link_text + FK_SYM_INIT_TASK },
		{ "prb", link_text + FK_SYM_PRB },
	};
	uint32_t bsz = 0;
	void *raw = fk_btf(v, &bsz);
	struct btf *b = raw ? btf__new(raw, bsz) : NULL;
	char *out;

	CHECK(b);
	out = isf_from_btf(b, syms, sizeof(syms) / sizeof(syms[0]));
	CHECK(out);
	btf__free(b);
	free(raw);
	return out;
}

/*
 * The task walk over the fake kernel, types and init_task from the ISF,
 * linked 4 MiB below where it runs; i386 (4-byte pointers in the ISF's
 * base types) 15 MiB above, as Debian's 686-pae at 0xc1000000.
 */
static void walk(enum fk_variant v)
{
	const struct fk_lay *L = fk_layout(v);
	struct qvmi_linux_task_list l;
	struct fk k;
	uint64_t cred, mm, pgd, t100, it = L->text_va + FK_SYM_INIT_TASK;
	char *isf = fk_isf(v, L->ptr == 4 ? L->text_va + 0xf00000 :
					    L->text_va - 0x400000);
	char *path = write_tmp(isf, strlen(isf));

	CHECK_OK(fk_create(&k, v, 4 << 20));
	cred = fk_alloc(&k, L->cred_size);
	mm = fk_alloc(&k, L->mm.size);
	/* PAE: the PDPT 32-byte aligned */
	pgd = ((fk_alloc(&k, 8192) + 4095) & ~4095ull) + (L->ptr == 4) * 0x20;
	fk_wp(&k, mm + L->mm.pgd, pgd);
	fk_wp(&k, mm + L->mm.pgd + L->ptr, 0xdeadbeef); /* neighbour */
	fk_w32(&k, cred + L->cred_uid, 1000);
	fk_wp(&k, it + L->task.cred, cred);
	fk_task(&k, 1, 1, it, "init", 1);
	t100 = fk_task(&k, 100, 100, it, "proc", 1);
	fk_wp(&k, t100 + L->task.cred, cred);
	fk_wp(&k, t100 + L->task.mm, mm);
	strip(&k);
	/* (a task walk now would remember its failure in the handle) */
	CHECK_INT(qvmi_linux_type_size(k.lx, "task_struct", &cred), ==,
		  -ENOENT);
	CHECK_OK(qvmi__linux_load_isf(k.lx, path));
	CHECK_MSG(!qvmi_linux_tasks(k.lx, 0, &l), "%s", qvmi_errmsg(k.ctx));
	CHECK_INT(l.n, ==, 3);
	CHECK_INT(l.tasks[0].pid, ==, 0);
	CHECK_STR(l.tasks[0].comm, "swapper/0");
	CHECK_INT(l.tasks[1].ppid, ==, 0);
	CHECK_INT(l.tasks[2].pid, ==, 100);
	CHECK_INT(l.tasks[2].ppid, ==, 0);
	CHECK_STR(l.tasks[2].comm, "proc");
	CHECK_INT(l.tasks[2].uid, ==, 1000);
	CHECK_U64(l.tasks[2].mm, ==, mm);
	CHECK_U64(l.tasks[2].dtb, ==, pgd - L->pob);
	CHECK_U64(l.tasks[2].addr, ==, t100);
	CHECK_INT(l.tasks[2].state, ==, 'S');
	qvmi_linux_task_list_deinit(&l);
	fk_destroy(&k);
	free(k.mem);
	unlink(path);
	free(path);
	free(isf);
}

static void test_walk_new(void)
{
	walk(FK_NEW);
}

static void test_walk_old(void)
{
	walk(FK_OLD);
}

static void test_walk_i386(void)
{
	walk(FK_I386);
}

/*
 * dmesg through an ISF whose bitfield positions were lost (dwarf2json
 * 0.6.0 on a DWARF 5 kernel, isf.c lost_bits): the log is still read, with
 * level -1 (unknown), not the low bits of seq.  The fake kernel's ISF
 * gets one struct with two bitfields at bit 0 to mark it so.
 */
static void test_dmesg_lost_bits(void)
{
	struct qvmi_linux_log_rec got[2];
	struct fk k;
	uint64_t rb, descs, infos, data;
	char *isf = fk_isf(FK_NEW, FK_TEXT_VA - 0x400000), *path;
	struct json_object *root = json_tokener_parse(isf), *lost;
	const char *text;

	CHECK(root);
	lost = json_tokener_parse(
		"{\"kind\":\"struct\",\"size\":1,\"fields\":{"
		"\"a\":{\"offset\":0,\"type\":{\"kind\":\"bitfield\","
		"\"bit_position\":0,\"bit_length\":5,\"type\":{\"kind\":"
		"\"base\",\"name\":\"char\"}}},"
		"\"b\":{\"offset\":0,\"type\":{\"kind\":\"bitfield\","
		"\"bit_position\":0,\"bit_length\":3,\"type\":{\"kind\":"
		"\"base\",\"name\":\"char\"}}}}}");
	CHECK(lost);
	json_object_object_add(json_object_object_get(root, "user_types"),
			       "lost", lost);
	text = json_object_to_json_string(root);
	path = write_tmp(text, strlen(text));
	CHECK_OK(fk_create(&k, FK_NEW, 4 << 20));
	rb = fk_alloc(&k, FK_PRB_SIZE);
	descs = fk_alloc(&k, 4 * FK_PRB_DESC_SIZE);
	infos = fk_alloc(&k, 4 * FK_PRB_INFO_SIZE);
	data = fk_alloc(&k, 128);
	fk_w64(&k, fk_sym(FK_SYM_PRB), rb);
	fk_w32(&k, rb + FK_PRB_COUNT_BITS, 2);
	fk_w64(&k, rb + FK_PRB_DESCS, descs);
	fk_w64(&k, rb + FK_PRB_INFOS, infos);
	fk_w64(&k, rb + FK_PRB_TAIL_ID, 5);
	fk_w64(&k, rb + FK_PRB_HEAD_ID, 5);
	fk_w32(&k, rb + FK_PRB_SIZE_BITS, 7);
	fk_w64(&k, rb + FK_PRB_DATA, data);
	/* id 5, finalized, its block at data + 48 (begin 176 = lap 1) */
	fk_w64(&k, descs + 1 * FK_PRB_DESC_SIZE, 2ull << 62 | 5);
	fk_w64(&k, descs + 1 * FK_PRB_DESC_SIZE + 8, 176);
	fk_w64(&k, descs + 1 * FK_PRB_DESC_SIZE + 16, 200);
	fk_w64(&k, infos + 1 * FK_PRB_INFO_SIZE, 0x35); /* seq: low bits 5 */
	fk_w32(&k, infos + 1 * FK_PRB_INFO_SIZE + 16, 5u | 6u << 29);
	fk_w64(&k, data + 48, 5);
	memcpy(fk_ptr(&k, data + 56), "hello", 5);
	strip(&k);
	CHECK_MSG(!qvmi__linux_load_isf(k.lx, path), "%s", qvmi_errmsg(k.ctx));
	memset(got, 0, sizeof(got));
	CHECK_MSG(qvmi_linux_dmesg(k.lx, keep_rec, got) == 0, "%s",
		  qvmi_errmsg(k.ctx));
	CHECK_U64(got[0].seq, ==, 0x35);
	CHECK_INT(got[0].level, ==, -1);
	CHECK_INT((int)got[0].text_len, ==, 5);
	fk_destroy(&k);
	free(k.mem);
	unlink(path);
	free(path);
	json_object_put(root);
	free(isf);
}

static const struct qvmi_test isf_tests[] = {
	{ "members", test_members },
	{ "malformed", test_malformed },
	{ "malformed_json", test_malformed_json },
	{ "handle_slide", test_handle },
	{ "wrong_build", test_wrong_build },
	{ "xz_refused", test_xz },
	{ "task_walk_new", test_walk_new },
	{ "task_walk_old", test_walk_old },
	{ "task_walk_i386", test_walk_i386 },
	{ "dmesg_lost_bitfields", test_dmesg_lost_bits },
};
QVMI_SUITE(isf, isf_tests);
