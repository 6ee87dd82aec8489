// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The gdbstub client, control backend and memory source against a model of
 * QEMU 7.2's gdbstub, built from captured behaviour (data/qemu72-*): the
 * real target description and 'g' images, "p" refused before target.xml,
 * E22 for 'm' over 2048 bytes, E14 for unmapped memory, T02 on connect to a
 * running VM, D refused in multiprocess mode, re-hit when continuing from a
 * breakpoint, one stop reply per 0x03.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"
#include "testdata.h"
#include "fake-rsp.h"
#include "qemu72-gdb.h"
#include "qvmi.h"
#include "attach/qvmid.h"
#include "proto/gdb.h"
#include "gdb-model.h"

static struct qvmi_ctx *attach(struct model *m, int memory)
{
	struct qvmi_ctx *ctx = NULL;
	QVMI_OPTS(qvmi_gdb_opts, o, .timeout_ms = 2000, .memory = memory);

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_MSG(qvmi__attach_gdb_fd(ctx, model_start(m), &o) == 0, "%s",
		  qvmi_errmsg(ctx));
	return ctx;
}

/* ---- layout and register mapping (pure) ---------------------------------- */

static int fetch_qemu72(const char *href, char **ret, size_t *ret_len,
			void *arg)
{
	if (strcmp(href, "i386-64bit.xml"))
		return -ENOENT;
	*ret = strdup(qemu72_i386_64bit_xml);
	*ret_len = strlen(*ret);
	return 0;
}

static void parse_qemu72(struct qvmi__gdb_layout *l)
{
	CHECK_OK(qvmi__gdb_parse_layout(qemu72_target_xml,
					strlen(qemu72_target_xml), fetch_qemu72,
					NULL, l));
}

static void test_layout_qemu72(void)
{
	static const struct {
		const char *name;
		unsigned int regnum, bitsize;
		size_t offset;
	} want[] = {
		{ "rax", 0, 64, 0 },	      { "r15", 15, 64, 120 },
		{ "rip", 16, 64, 128 },	      { "eflags", 17, 32, 136 },
		{ "cs", 18, 32, 140 },	      { "gs", 23, 32, 160 },
		{ "fs_base", 24, 64, 164 },   { "gs_base", 25, 64, 172 },
		{ "k_gs_base", 26, 64, 180 }, { "cr0", 27, 64, 188 },
		{ "cr3", 29, 64, 204 },	      { "cr8", 31, 64, 220 },
		{ "efer", 32, 64, 228 },      { "st0", 33, 80, 236 },
		{ "fop", 48, 32, 344 },	      { "xmm0", 49, 128, 348 },
		{ "mxcsr", 65, 32, 604 },
	};
	struct qvmi__gdb_layout l;
	const char *p = qemu72_i386_64bit_xml;
	int naive = 0;

	/* the trap: a plain scan finds three registers too many */
	while ((p = strstr(p, "<reg ")))
		naive++, p++;
	CHECK_INT(naive, ==, 69);
	parse_qemu72(&l);
	CHECK_INT(l.nregs, ==, 66);
	CHECK_INT(l.gsize, ==, 608); /* the size of a 'g' reply */
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct qvmi_gdb_reg *r =
			qvmi__gdb_layout_find(&l, want[i].name);

		CHECK_MSG(r, "no %s", want[i].name);
		CHECK_INT(r->regnum, ==, want[i].regnum);
		CHECK_INT(r->bitsize, ==, want[i].bitsize);
		CHECK_INT(r->offset, ==, want[i].offset);
	}
	CHECK(!qvmi__gdb_layout_find(&l, "cs_base"));
	CHECK(!qvmi__gdb_layout_find(&l, "ss_base"));
	CHECK(!qvmi__gdb_layout_find(&l, "es_base"));
	qvmi__gdb_layout_deinit(&l);
}

static int fetch_self(const char *href, char **ret, size_t *ret_len, void *arg)
{
	*ret = strdup("<xi:include href='self.xml'/>");
	*ret_len = strlen(*ret);
	return 0;
}

static void test_layout_errors(void)
{
	static const char *const bad[] = {
		"",
		"<feature></feature>", /* no registers */
		"<reg name='a' bitsize='64'/><reg name='b' bitsize='64' "
		"regnum='0'/>", /* duplicate regnum */
		"<reg name='a' bitsize='7'/>",
		"<reg name='a' bitsize='0'/>",
		"<reg bitsize='64'/>",
		"<reg name='a' bitsize='64x'/>",
		"<reg name='a' bitsize='64' regnum='99999999'/>",
		"<reg name='a' bitsize='64'/><!-- unterminated",
		"<reg name='a' bitsize=64/>",
		"<reg name='a' bitsize='64",
		"<reg name='aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' bitsize='8'/>",
		"<xi:include href='x.xml'/>", /* no fetch */
	};
	struct qvmi__gdb_layout l;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(qvmi__gdb_parse_layout(bad[i], strlen(bad[i]), NULL,
						 NULL, &l) < 0,
			  "accepted %s", bad[i]);
	CHECK_INT(qvmi__gdb_parse_layout("<xi:include href='a'/>", 22,
					 fetch_self, NULL, &l),
		  ==, -ELOOP);
	/* comments, CDATA, PIs, '>' inside quotes; regnum continues */
	const char *ok = "<?xml version='1.0'?><!DOCTYPE x SYSTEM 'y'>"
			 "<![CDATA[<reg name='no' bitsize='8'/>]]>"
			 "<reg name='a>b' bitsize='16' regnum='4'/>"
			 "<!-- <reg name='c' bitsize='8'/> -->"
			 "<reg name=\"d\" bitsize=\"8\" type='int'/>"
			 "<reg name='z' bitsize='32' regnum='1'/>";
	CHECK_OK(qvmi__gdb_parse_layout(ok, strlen(ok), NULL, NULL, &l));
	CHECK_INT(l.nregs, ==, 3);
	CHECK_STR(l.regs[0].name, "z");
	CHECK_STR(l.regs[1].name, "a>b");
	CHECK_INT(l.regs[1].offset, ==, 4);
	CHECK_STR(l.regs[2].name, "d");
	CHECK_INT(l.regs[2].regnum, ==, 5);
	CHECK_INT(l.gsize, ==, 7);
	qvmi__gdb_layout_deinit(&l);
}

static void test_regs_mapping(void)
{
	struct qvmi__gdb_layout l;
	struct qvmi_regs_x86 r = { 0 }, r2 = { 0 };
	uint8_t g[GSIZE], g2[GSIZE];

	parse_qemu72(&l);
	hex_load(g, qemu72_g_cpu0, GSIZE);
	CHECK_OK(qvmi__gdb_regs_from_g(&l, g, GSIZE, &r));
	/* the same guest's "info registers -a", CPU#0 */
	CHECK_U64(r.rax, ==, 0x1ad40);
	CHECK_U64(r.rcx, ==, 1);
	CHECK_U64(r.rdx, ==, 0x4000000000000000ull);
	CHECK_U64(r.rsi, ==, 0x83);
	CHECK_U64(r.rdi, ==, 0x4224c);
	CHECK_U64(r.rbp, ==, 0xffffffff8921aa40ull);
	CHECK_U64(r.rsp, ==, 0xffffffff89203e98ull);
	CHECK_U64(r.r9, ==, 7);
	CHECK_U64(r.r11, ==, 1);
	CHECK_U64(r.r15, ==, 0x14790);
	CHECK_U64(r.rip, ==, 0xffffffff882592ebull);
	CHECK_U64(r.rflags, ==, 0x246);
	CHECK_U64(r.cs, ==, 0x10);
	CHECK_U64(r.ss, ==, 0x18);
	CHECK_U64(r.ds, ==, 0);
	CHECK_U64(r.gs_base, ==, 0xffff8ab7df400000ull);
	CHECK_U64(r.cr0, ==, 0x80050033);
	CHECK_U64(r.cr2, ==, 0x22c7b730);
	CHECK_U64(r.cr3, ==, 0x12a02000);
	CHECK_U64(r.cr4, ==, 0x6f0);
	CHECK_U64(r.efer, ==, 0xd01);
	CHECK_U64(r.valid, ==,
		  QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_BASES |
			  QVMI_REGS_KGS | QVMI_REGS_CR | QVMI_REGS_CR8);
	/* write back: only the valid groups are patched */
	memcpy(g2, g, GSIZE);
	r.rax = 0x1122334455667788ull;
	r.valid = QVMI_REGS_GPR;
	r.cr3 = 0; /* not valid: must not be written */
	CHECK_OK(qvmi__gdb_regs_to_g(&l, &r, g2, GSIZE));
	CHECK_INT(g2[0], ==, 0x88);
	CHECK_INT(g2[7], ==, 0x11);
	CHECK(!memcmp(g2 + 8, g + 8, GSIZE - 8));
	CHECK_OK(qvmi__gdb_regs_from_g(&l, g2, GSIZE, &r2));
	CHECK_U64(r2.rax, ==, 0x1122334455667788ull);
	CHECK_U64(r2.cr3, ==, 0x12a02000);
	/* a short image: only whole groups count */
	memset(&r2, 0, sizeof(r2));
	CHECK_OK(qvmi__gdb_regs_from_g(&l, g, 150, &r2));
	CHECK_U64(r2.valid, ==, QVMI_REGS_GPR);
	CHECK_U64(r2.cs, ==, 0);
	qvmi__gdb_layout_deinit(&l);
}

/* qemu-system-i386 (QEMU 7.2): its description names the registers eax..eip
 * (i386-32bit.xml, captured), 32 bits wide, and has no r8..r15.  The 'g'
 * image is the same stub's at -S: the reset vector. */
static int fetch_i386(const char *href, char **ret, size_t *ret_len, void *arg)
{
	if (strcmp(href, "i386-32bit.xml"))
		return -ENOENT;
	*ret = qvmi_test_data("qemu72-i386-32bit.xml", ret_len);
	return *ret ? 0 : -ENOENT;
}

static void test_regs_i386(void)
{
	static const char target[] =
		"<?xml version=\"1.0\"?><!DOCTYPE target SYSTEM "
		"\"gdb-target.dtd\"><target><architecture>i386</architecture>"
		"<xi:include href=\"i386-32bit.xml\"/></target>";
	struct qvmi__gdb_layout l;
	struct qvmi_regs_x86 r = { 0 };
	char *hex = qvmi_test_data("qemu72-i386-g-reset.hex", NULL);
	uint8_t g[344];

	CHECK(hex && strlen(hex) >= 2 * sizeof(g));
	if (!hex)
		return;
	CHECK_OK(qvmi__gdb_parse_layout(target, strlen(target), fetch_i386,
					NULL, &l));
	CHECK_U64(l.gsize, ==, sizeof(g));
	CHECK(qvmi__gdb_layout_pc(&l) &&
	      !strcmp(qvmi__gdb_layout_pc(&l)->name, "eip"));
	CHECK_U64(qvmi__gdb_layout_pc(&l)->regnum, ==, 8);
	hex_load(g, hex, sizeof(g));
	free(hex);
	CHECK_OK(qvmi__gdb_regs_from_g(&l, g, sizeof(g), &r));
	CHECK_U64(r.rip, ==, 0xfff0);
	CHECK_U64(r.rdx, ==, 0x663);
	CHECK_U64(r.rflags, ==, 2);
	CHECK_U64(r.cs, ==, 0xf000);
	CHECK_U64(r.cr0, ==, 0x60000010);
	CHECK(r.valid & QVMI_REGS_GPR);
	CHECK(r.valid & QVMI_REGS_GPR32);
	CHECK(r.valid & QVMI_REGS_CR);
	/* and back: 4 bytes per register, nothing past eip written */
	r.rip = 0x12345678;
	r.valid = QVMI_REGS_GPR;
	CHECK_OK(qvmi__gdb_regs_to_g(&l, &r, g, sizeof(g)));
	CHECK_INT(g[32], ==, 0x78);
	CHECK_INT(g[35], ==, 0x12);
	CHECK_INT(g[36], ==, 2);
	qvmi__gdb_layout_deinit(&l);
}

/* ---- the client against the model ---------------------------------------- */

static void test_attach_paused_regs(void)
{
	struct model m = { 0 };
	struct qvmi_ctx *ctx = attach(&m, QVMI_GDB_MEM_AUTO);
	struct qvmi_regs_x86 r;
	enum qvmi_vm_state st;
	struct qvmi_vm_info vi;

	CHECK_INT(qvmi_vcpu_count(ctx), ==, 2);
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_PAUSED);
	CHECK_OK(qvmi_vm_info(ctx, &vi));
	CHECK_STR(vi.backend, "gdb");
	CHECK_INT(vi.vcpus, ==, 2);
	CHECK_OK(qvmi_get_regs(ctx, 1, &r));
	/* "info registers -a", CPU#1 */
	CHECK_U64(r.rsp, ==, 0xffffd163c009bed8ull);
	CHECK_U64(r.rbp, ==, 0xffff8ab7c1258000ull);
	CHECK_U64(r.rdi, ==, 0x33d84);
	CHECK_U64(r.rip, ==, 0xffffffff882592ebull);
	CHECK_INT(qvmi_get_regs(ctx, 2, &r), ==, -EINVAL);
	CHECK(log_find(&m, "Hgp01.02", 0) >= 0);
	/* the target description was read before any 'p' */
	CHECK(log_find(&m, "qXfer:features:read:i386-64bit.xml:0,ff8", 0) >= 0);
	qvmi_ctx_destroy(ctx);
	model_join(&m);
	/* paused when we came: closed without detaching */
	CHECK_INT(log_find(&m, "D;1", 0), ==, -1);
	CHECK(!m.detached);
}

static void test_attach_running_restores(void)
{
	struct model m = { .running_at_connect = true };
	struct qvmi_ctx *ctx = attach(&m, QVMI_GDB_MEM_OFF);
	enum qvmi_vm_state st;

	/* connecting paused it (T02 on connect) */
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_PAUSED);
	CHECK_INT(qvmi_map_count(ctx), ==, 0);
	CHECK_OK(qvmi_bp_insert(ctx, QVMI_BP_HW, 0xffffffff88252dd0ull, 1));
	qvmi_ctx_destroy(ctx);
	model_join(&m);
	/* breakpoint removed, then D;1 (plain D is E22 on QEMU 7.2) */
	CHECK(log_find(&m, "z1,ffffffff88252dd0,1", 0) >= 0);
	CHECK(log_find(&m, "D;1", 0) >
	      log_find(&m, "z1,ffffffff88252dd0,1", 0));
	CHECK(m.detached);
	CHECK_INT(m.nbps, ==, 0);
}

static void test_resume_option(void)
{
	struct model m = { .running_at_connect = true };
	struct qvmi_ctx *ctx = NULL;
	QVMI_OPTS(qvmi_gdb_opts, o, .timeout_ms = 2000, .resume = 1);
	enum qvmi_vm_state st;
	struct qvmi_regs_x86 r;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi__attach_gdb_fd(ctx, model_start(&m), &o));
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_RUNNING);
	/* registers while running: interrupt, read, continue */
	CHECK_OK(qvmi_get_regs(ctx, 0, &r));
	CHECK_U64(r.rax, ==, 0x1ad40);
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_RUNNING);
	int c = log_find(&m, "^C", 0);
	CHECK(c > 0);
	CHECK(log_find(&m, "g", c) > c);
	CHECK(log_find(&m, "vCont;c", log_find(&m, "g", c)) > 0);
	CHECK_INT(qvmi_wait_stop(ctx, 30, &(struct qvmi_stop){ 0 }), ==,
		  -ETIMEDOUT);
	CHECK_OK(qvmi_vm_pause(ctx));
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_PAUSED);
	CHECK_INT(m.interrupts, ==, 2);
	qvmi_ctx_destroy(ctx);
	model_join(&m);
	/* paused by the user: left paused */
	CHECK(!m.detached);
}

static void test_memory(void)
{
	struct model m = { 0 };
	struct qvmi_ctx *ctx = attach(&m, QVMI_GDB_MEM_AUTO);
	struct qvmi_gdb *g = qvmi__ctl_gdb(ctx);
	static uint8_t buf[5000];
	uint8_t w[4] = { 0xde, 0xad, 0xbe, 0xef };

	CHECK(g);
	/* virtual, 3000 bytes: two packets, each at most 2048 */
	CHECK_OK(qvmi__gdb_read_mem(g, 0, false, VBASE + 100, buf, 3000));
	CHECK(!memcmp(buf, m.vmem + 100, 3000));
	CHECK(log_find(&m, "mffffffff87800064,800", 0) >= 0);
	CHECK(log_find(&m, "mffffffff87800864,3b8", 0) >= 0);
	/* unmapped: E14 -> -EFAULT at the chunk */
	CHECK_INT(qvmi__gdb_read_mem(g, 0, false, VBASE + 0x3f00, buf, 0x200),
		  ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(ctx), ==, VBASE + 0x3f00);
	/* physical through the source, via the guest-physical map */
	CHECK_INT(qvmi_map_count(ctx), ==, 1);
	CHECK_OK(qvmi_read_pa(ctx, 0x1234, buf, 4096));
	CHECK(!memcmp(buf, m.pmem + 0x1234, 4096));
	CHECK(log_find(&m, "Qqemu.PhyMemMode:1", 0) >= 0);
	CHECK_OK(qvmi_write_pa(ctx, 0x2000, w, 4));
	CHECK(!memcmp(m.pmem + 0x2000, w, 4));
	CHECK_INT(qvmi_read_pa(ctx, 0x20000, buf, 8), ==, -EFAULT);
	/* and back to virtual */
	CHECK_OK(qvmi__gdb_read_mem(g, 1, false, VBASE, buf, 16));
	CHECK(!memcmp(buf, m.vmem, 16));
	qvmi_ctx_destroy(ctx);
	model_join(&m);
	/* physical mode is global in QEMU: switched off on the way out */
	CHECK_INT(m.phys, ==, 0);
}

static void test_breakpoint_cycle(void)
{
	struct model m = { 0 };
	struct qvmi_ctx *ctx = attach(&m, QVMI_GDB_MEM_OFF);
	const uint64_t bp = 0xffffffff88252dd0ull;
	struct qvmi_stop s;
	int i;

	CHECK_OK(qvmi_bp_insert(ctx, QVMI_BP_HW, bp, 1));
	CHECK_INT(qvmi_bp_insert(ctx, QVMI_BP_HW, bp, 1), ==, -EEXIST);
	CHECK_OK(qvmi_vm_resume(ctx));
	CHECK_OK(qvmi_wait_stop(ctx, 1000, &s));
	CHECK_INT(s.reason, ==, QVMI_STOP_BREAKPOINT);
	CHECK_INT(s.vcpu, ==, 1);
	CHECK_U64(s.rip, ==, bp);
	CHECK_U64(s.addr, ==, bp);
	CHECK_INT(s.signal, ==, 5);
	/* resume steps vCPU 1 over the breakpoint first */
	i = log_find(&m, "vCont;c", 0);
	CHECK_OK(qvmi_vm_resume(ctx));
	i = log_find(&m, "z1,ffffffff88252dd0,1", i);
	CHECK(i > 0);
	i = log_find(&m, "vCont;s:p01.02", i);
	CHECK(i > 0);
	i = log_find(&m, "Z1,ffffffff88252dd0,1", i);
	CHECK(i > 0);
	CHECK(log_find(&m, "vCont;c", i) > i);
	CHECK_OK(qvmi_wait_stop(ctx, 1000, &s));
	CHECK_INT(s.reason, ==, QVMI_STOP_BREAKPOINT);
	CHECK_OK(qvmi_bp_remove(ctx, QVMI_BP_HW, bp, 1));
	CHECK_INT(qvmi_bp_remove(ctx, QVMI_BP_HW, bp, 1), ==, -ENOENT);
	/* nothing to wait for while stopped */
	CHECK_INT(qvmi_wait_stop(ctx, 10, &s), ==, -EINVAL);
	qvmi_ctx_destroy(ctx);
	model_join(&m);
}

static void test_watchpoint(void)
{
	struct model m = { 0 };
	struct qvmi_ctx *ctx = attach(&m, QVMI_GDB_MEM_OFF);
	struct qvmi_stop s;

	CHECK_OK(qvmi_bp_insert(ctx, QVMI_WP_WRITE, 0xffffd163c0543e08ull, 8));
	CHECK_OK(qvmi_vm_resume(ctx));
	CHECK_OK(qvmi_wait_stop(ctx, 1000, &s));
	CHECK_INT(s.reason, ==, QVMI_STOP_WATCH_WRITE);
	CHECK_U64(s.addr, ==, 0xffffd163c0543e08ull);
	CHECK_U64(s.rip, ==, 0xffffffff882592ebull);
	CHECK_INT(s.vcpu, ==, 0);
	CHECK_OK(qvmi_bp_remove(ctx, QVMI_WP_WRITE, 0xffffd163c0543e08ull, 8));
	CHECK_INT(qvmi_bp_insert(ctx, QVMI_WP_READ, 0x1000, 3), ==, -EINVAL);
	CHECK_INT(qvmi_bp_insert(ctx, QVMI_BP_SW, 0x1000, 2), ==, -EINVAL);
	CHECK_INT(qvmi_bp_insert(ctx, (enum qvmi_bp_kind)7, 0x1000, 1), ==,
		  -EINVAL);
	qvmi_ctx_destroy(ctx);
	model_join(&m);
}

static void test_single_step_and_set_regs(void)
{
	struct model m = { 0 };
	struct qvmi_ctx *ctx = attach(&m, QVMI_GDB_MEM_OFF);
	struct qvmi_regs_x86 a, b, c;

	CHECK_OK(qvmi_get_regs(ctx, 0, &a));
	CHECK_OK(qvmi_get_regs(ctx, 1, &c));
	CHECK_OK(qvmi_single_step(ctx, 0));
	CHECK_OK(qvmi_get_regs(ctx, 0, &b));
	CHECK_U64(b.rip, ==, a.rip + 1);
	CHECK_OK(qvmi_get_regs(ctx, 1, &b));
	CHECK_U64(b.rip, ==, c.rip);
	CHECK(log_find(&m, "vCont;s:p01.01", 0) >= 0);
	CHECK_INT(qvmi_single_step(ctx, 5), ==, -EINVAL);
	/* set_regs writes the whole image back with rax changed */
	a.rax = 0xabcdef;
	a.valid = QVMI_REGS_GPR;
	a.rip = b.rip; /* keep rip as the model has it */
	CHECK_OK(qvmi_get_regs(ctx, 0, &b));
	a.rip = b.rip;
	CHECK_OK(qvmi_set_regs(ctx, 0, &a));
	CHECK_OK(qvmi_get_regs(ctx, 0, &b));
	CHECK_U64(b.rax, ==, 0xabcdef);
	CHECK_U64(b.cr3, ==, 0x12a02000);
	CHECK_U64(m.g[0][0], ==, 0xef);
	CHECK_INT(qvmi_set_regs(ctx, 0, NULL), ==, -EINVAL);
	qvmi_ctx_destroy(ctx);
	model_join(&m);
}

/* A vCPU that does not finish its step (halted, under TCG): the step
 * fails with -ETIMEDOUT after the exchange timeout and the vCPU is stopped
 * (0x03), so the VM is stopped and usable as after a step. */
static void test_step_halted(void)
{
	struct model m = { .step_hangs = true };
	QVMI_OPTS(qvmi_gdb_opts, o, .timeout_ms = 300,
		  .memory = QVMI_GDB_MEM_OFF);
	struct qvmi_regs_x86 a, b;
	enum qvmi_vm_state st;
	struct qvmi_ctx *ctx;
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi__attach_gdb_fd(ctx, model_start(&m), &o);
	CHECK_MSG(!err, "%s", qvmi_errmsg(ctx));
	CHECK_OK(qvmi_get_regs(ctx, 1, &a));
	CHECK_INT(qvmi_single_step(ctx, 1), ==, -ETIMEDOUT);
	CHECK(strstr(qvmi_errmsg(ctx), "did not end"));
	CHECK(log_find(&m, "^C", log_find(&m, "vCont;s:p01.02", 0)) > 0);
	CHECK_OK(qvmi_vm_state(ctx, &st));
	CHECK_INT(st, ==, QVMI_VM_PAUSED);
	CHECK_OK(qvmi_get_regs(ctx, 1, &b));
	CHECK_U64(b.rip, ==, a.rip); /* it did not move */
	pthread_mutex_lock(&m.lock);
	m.step_hangs = false;
	pthread_mutex_unlock(&m.lock);
	CHECK_OK(qvmi_single_step(ctx, 1));
	CHECK_OK(qvmi_get_regs(ctx, 1, &b));
	CHECK_U64(b.rip, ==, a.rip + 1);
	qvmi_ctx_destroy(ctx);
	model_join(&m);
}

static void test_after_other_backend(void)
{
	/* as after qvmi_attach_qmp: memory mapped already, control replaced */
	struct model m = { 0 };
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_source *src;
	static uint8_t ram[8192];
	uint8_t b[4];
	QVMI_OPTS(qvmi_gdb_opts, o, .timeout_ms = 2000);

	memset(ram, 0x5a, sizeof(ram));
	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_OK(qvmi_source_testmem_create(ctx, ram, sizeof(ram), 1, &src));
	CHECK_OK(qvmi_map_add(ctx, src, 0, sizeof(ram), 0));
	CHECK_OK(qvmi__attach_gdb_fd(ctx, model_start(&m), &o));
	CHECK_INT(qvmi_map_count(ctx), ==, 1);
	CHECK_OK(qvmi_read_pa(ctx, 0x100, b, 4));
	CHECK_INT(b[0], ==, 0x5a);
	CHECK_INT(qvmi_vcpu_count(ctx), ==, 2);
	CHECK_INT(qvmi__attach_gdb_fd(ctx, -1, &o), ==, -EBUSY);
	qvmi_ctx_destroy(ctx);
	model_join(&m);
}

static void test_no_gdb(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_stop s;

	CHECK_OK(qvmi_ctx_create(&ctx));
	CHECK_INT(qvmi_bp_insert(ctx, QVMI_BP_SW, 0x1000, 1), ==, -EOPNOTSUPP);
	CHECK(strstr(qvmi_errmsg(ctx), "gdbstub"));
	CHECK_INT(qvmi_wait_stop(ctx, 0, &s), ==, -EOPNOTSUPP);
	CHECK_INT(qvmi_single_step(ctx, 0), ==, -EOPNOTSUPP);
	CHECK_INT(qvmi_attach_gdb(ctx, "/nonexistent/gdb.sock", NULL), ==,
		  -ENOENT);
	qvmi_ctx_destroy(ctx);
}

static void test_peer_goes_away(void)
{
	struct model m = { .close_after_handshake = true };
	struct qvmi_ctx *ctx = attach(&m, QVMI_GDB_MEM_OFF);
	struct qvmi_regs_x86 r;

	model_join(&m);
	CHECK_INT(qvmi_get_regs(ctx, 0, &r), ==, -EPIPE);
	qvmi_ctx_destroy(ctx); /* must not hang */
}

static const struct qvmi_test gdb_tests[] = {
	{ "layout_qemu72", test_layout_qemu72 },
	{ "layout_errors", test_layout_errors },
	{ "regs_mapping", test_regs_mapping },
	{ "regs_i386", test_regs_i386 },
	{ "attach_paused_regs", test_attach_paused_regs },
	{ "attach_running_restores", test_attach_running_restores },
	{ "resume_option", test_resume_option },
	{ "memory", test_memory },
	{ "breakpoint_cycle", test_breakpoint_cycle },
	{ "watchpoint", test_watchpoint },
	{ "single_step_and_set_regs", test_single_step_and_set_regs },
	{ "step_halted", test_step_halted },
	{ "after_other_backend", test_after_other_backend },
	{ "no_gdb", test_no_gdb },
	{ "peer_goes_away", test_peer_goes_away },
};
QVMI_SUITE(gdb, gdb_tests);
