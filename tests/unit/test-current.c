// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Current task of a vCPU over synthetic memory: a hand-built Linux handle
 * (symbols, BTF made with libbpf, a direct map over testmem) and a fake
 * control backend giving each vCPU's registers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

#include "harness.h"
#include "qvmi.h"
#include "os/linux/linux.h"

enum {
	MEM = 4 << 20,
	TEXT_PA = 0x200000,
	PERCPU0_PA = 0x100000, /* per-CPU areas of CPU 0, 1, 2 */
	PERCPU_STRIDE = 0x40000,
	TASK_PA = 0x300000, /* task_struct of "qvmi-sleeper" */
	TASK2_PA = 0x301000, /* comm without a NUL */
	PID_OFF = 100,
	TGID_OFF = 104,
	COMM_OFF = 200,
	CURRENT_TASK = 0x1fb80, /* 6.1's per-CPU offset, kallsyms 'A' */
	PCPU_HOT = 0x1f000,
	PERCPU_OFFSET_ARR = 0x1000, /* __per_cpu_offset, from _text */
};

#define TEXT_VA 0xffffffff81000000ull
#define PAGE_OFFSET 0xffff888000000000ull
#define DM(pa) (PAGE_OFFSET + (pa))

static struct qvmi_regs_x86 fake_regs[4];

static int fake_get_regs(struct qvmi_ctl *c, unsigned int vcpu,
			 struct qvmi_regs_x86 *ret)
{
	(void)c;
	if (vcpu >= 4)
		return -EINVAL;
	*ret = fake_regs[vcpu];
	return 0;
}

static const struct qvmi_ctl_ops fake_ctl = {
	.name = "fake",
	.get_regs = fake_get_regs,
};

struct fixture {
	uint8_t *mem;
	struct qvmi_ctx *ctx;
	struct qvmi_linux *lx;
};

static void put64(uint8_t *mem, uint64_t pa, uint64_t v)
{
	memcpy(mem + pa, &v, 8);
}

static void put32(uint8_t *mem, uint64_t pa, int32_t v)
{
	memcpy(mem + pa, &v, 4);
}

/* task_struct { ... int pid @100; int tgid @104; ... char comm[16] @200 }
 * and, if hot, pcpu_hot { long preempt; task_struct *current_task; }. */
static struct btf *make_btf(bool hot)
{
	struct btf *btf = btf__new_empty();
	int i_int, i_long, i_char, i_comm, i_task, i_ptr;

	i_int = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	i_long = btf__add_int(btf, "long", 8, BTF_INT_SIGNED);
	i_char = btf__add_int(btf, "char", 1, BTF_INT_CHAR);
	i_comm = btf__add_array(btf, i_int, i_char, 16);
	i_task = btf__add_struct(btf, "task_struct", 256);
	CHECK_OK(btf__add_field(btf, "state", i_long, 0, 0));
	CHECK_OK(btf__add_field(btf, "pid", i_int, PID_OFF * 8, 0));
	CHECK_OK(btf__add_field(btf, "tgid", i_int, TGID_OFF * 8, 0));
	CHECK_OK(btf__add_field(btf, "comm", i_comm, COMM_OFF * 8, 0));
	if (hot) {
		i_ptr = btf__add_ptr(btf, i_task);
		CHECK(btf__add_struct(btf, "pcpu_hot", 64) > 0);
		CHECK_OK(btf__add_field(btf, "preempt_count", i_long, 0, 0));
		CHECK_OK(btf__add_field(btf, "current_task", i_ptr, 64, 0));
	}
	return btf;
}

static void add_sym(struct qvmi_linux *lx, uint64_t addr, char type,
		    const char *name)
{
	CHECK_OK(qvmi__ksyms_add(&lx->syms, addr, type, name, strlen(name)));
}

/* Three CPUs; CPU n's area at PERCPU0_PA + n * PERCPU_STRIDE.  The task
 * pointer is at offset off in each area. */
static void setup(struct fixture *f, bool hot, bool with_btf)
{
	struct qvmi_source *src;
	struct qvmi_linux *lx;
	uint64_t off = hot ? PCPU_HOT + 8 : CURRENT_TASK;

	memset(f, 0, sizeof(*f));
	memset(fake_regs, 0, sizeof(fake_regs));
	f->mem = calloc(1, MEM);
	CHECK_OK(qvmi_ctx_create(&f->ctx));
	CHECK_OK(qvmi_source_testmem_create(f->ctx, f->mem, MEM, 1, &src));
	CHECK_OK(qvmi_map_add(f->ctx, src, 0, MEM, 0));
	CHECK_OK(qvmi__ctl_set(f->ctx, &fake_ctl, NULL));
	lx = calloc(1, sizeof(*lx));
	lx->ctx = f->ctx;
	lx->text_va = TEXT_VA;
	lx->end_va = TEXT_VA + 0x100000;
	lx->text_pa = TEXT_PA;
	lx->page_offset_base = PAGE_OFFSET;
	lx->vmalloc_base = 0xffffc90000000000ull;
	add_sym(lx, 0, 'A', "__per_cpu_start");
	add_sym(lx, hot ? PCPU_HOT : CURRENT_TASK, 'A',
		hot ? "pcpu_hot" : "current_task");
	add_sym(lx, TEXT_VA, 'T', "_text");
	add_sym(lx, TEXT_VA + PERCPU_OFFSET_ARR, 'D', "__per_cpu_offset");
	CHECK_OK(qvmi__ksyms_finish(&lx->syms));
	if (with_btf)
		lx->btf = make_btf(hot);
	f->lx = lx;

	for (int cpu = 0; cpu < 3; cpu++) {
		uint64_t area = PERCPU0_PA + cpu * PERCPU_STRIDE;

		put64(f->mem, TEXT_PA + PERCPU_OFFSET_ARR + 8 * cpu, DM(area));
		put64(f->mem, area + off, DM(cpu == 2 ? TASK2_PA : TASK_PA));
	}
	put32(f->mem, TASK_PA + PID_OFF, 95);
	put32(f->mem, TASK_PA + TGID_OFF, 94);
	strcpy((char *)f->mem + TASK_PA + COMM_OFF, "qvmi-sleeper");
	put32(f->mem, TASK2_PA + PID_OFF, 7);
	put32(f->mem, TASK2_PA + TGID_OFF, 7);
	memset(f->mem + TASK2_PA + COMM_OFF, 'x', 16);

	/* vCPU 0: kernel mode; vCPU 1: user mode with KERNEL_GS_BASE;
	 * vCPU 2: user mode, no KERNEL_GS_BASE (QMP) */
	for (int v = 0; v < 3; v++) {
		struct qvmi_regs_x86 *r = &fake_regs[v];

		r->valid = QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_BASES;
		r->cs = v ? 0x33 : 0x10;
		r->gs_base = v ? 0 : DM(PERCPU0_PA);
	}
	fake_regs[1].valid |= QVMI_REGS_KGS;
	fake_regs[1].kernel_gs_base = DM(PERCPU0_PA + PERCPU_STRIDE);
}

static void teardown(struct fixture *f)
{
	qvmi_linux_destroy(f->lx);
	qvmi_ctx_destroy(f->ctx);
	free(f->mem);
}

static void check_sleeper(const struct qvmi_linux_current *c, uint64_t base)
{
	CHECK_U64(c->task, ==, DM(TASK_PA));
	CHECK_U64(c->percpu_base, ==, base);
	CHECK_INT(c->pid, ==, 95);
	CHECK_INT(c->tgid, ==, 94);
	CHECK_STR(c->comm, "qvmi-sleeper");
}

static void run_cpus(bool hot)
{
	struct qvmi_linux_current c;
	struct fixture f;

	setup(&f, hot, true);
	CHECK_OK(qvmi_linux_current_task(f.lx, 0, &c));
	check_sleeper(&c, DM(PERCPU0_PA));
	CHECK_INT(c.user, ==, 0);
	CHECK_OK(qvmi_linux_current_task(f.lx, 1, &c));
	check_sleeper(&c, DM(PERCPU0_PA + PERCPU_STRIDE));
	CHECK_INT(c.user, ==, 1);
	/* no KERNEL_GS_BASE: __per_cpu_offset[2]; a comm of 16 bytes
	 * without NUL comes back cut to 15 */
	CHECK_OK(qvmi_linux_current_task(f.lx, 2, &c));
	CHECK_U64(c.percpu_base, ==, DM(PERCPU0_PA + 2 * PERCPU_STRIDE));
	CHECK_U64(c.task, ==, DM(TASK2_PA));
	CHECK_INT(c.pid, ==, 7);
	CHECK_INT((int)strlen(c.comm), ==, 15);
	CHECK_INT(qvmi_linux_current_task(f.lx, 3, &c), ==, -EBADMSG);
	teardown(&f);
}

static void test_current_task_61(void)
{
	run_cpus(false);
}

static void test_pcpu_hot_62(void)
{
	run_cpus(true);
}

static void test_percpu_base(void)
{
	struct qvmi_regs_x86 r = { 0 };
	uint64_t base = 0;
	bool user = false;

	CHECK_INT(qvmi__linux_percpu_base(&r, &base, &user), ==, -EOPNOTSUPP);
	r.valid = QVMI_REGS_SEG | QVMI_REGS_BASES;
	r.cs = 0x10;
	r.gs_base = 0xffff888012340000ull;
	r.kernel_gs_base = 0x7f0000000000ull;
	CHECK_OK(qvmi__linux_percpu_base(&r, &base, &user));
	CHECK_U64(base, ==, 0xffff888012340000ull);
	CHECK(!user);
	/* entry_SYSCALL_64 before SWAPGS: ring 0, user GS base */
	r.gs_base = 0x7f0000000000ull;
	r.kernel_gs_base = 0xffff888012340000ull;
	CHECK_INT(qvmi__linux_percpu_base(&r, &base, &user), ==, -EOPNOTSUPP);
	r.valid |= QVMI_REGS_KGS;
	CHECK_OK(qvmi__linux_percpu_base(&r, &base, &user));
	CHECK_U64(base, ==, 0xffff888012340000ull);
	/* user mode with a kernel-looking GS base (WRGSBASE can do that):
	 * KERNEL_GS_BASE wins */
	r.cs = 0x33;
	r.gs_base = 0xffff888099990000ull;
	CHECK_OK(qvmi__linux_percpu_base(&r, &base, &user));
	CHECK_U64(base, ==, 0xffff888012340000ull);
	CHECK(user);
	r.kernel_gs_base = 0x1000;
	CHECK_INT(qvmi__linux_percpu_base(&r, &base, &user), ==, -EBADMSG);
}

static void test_hostile(void)
{
	struct qvmi_linux_current c;
	struct fixture f;

	setup(&f, false, true);
	/* not a kernel address, then misaligned */
	put64(f.mem, PERCPU0_PA + CURRENT_TASK, 0x400000);
	CHECK_INT(qvmi_linux_current_task(f.lx, 0, &c), ==, -EBADMSG);
	put64(f.mem, PERCPU0_PA + CURRENT_TASK, DM(TASK_PA) + 3);
	CHECK_INT(qvmi_linux_current_task(f.lx, 0, &c), ==, -EBADMSG);
	/* a task beyond guest memory: a fault at its pid */
	put64(f.mem, PERCPU0_PA + CURRENT_TASK, DM(0x10000000ull));
	CHECK_INT(qvmi_linux_current_task(f.lx, 0, &c), ==, -EFAULT);
	CHECK_U64(qvmi_fault_addr(f.ctx), ==, 0x10000000ull + PID_OFF);
	/* a GS base whose slot is not in the direct map (and no page
	 * tables to walk: no init_top_pgt, no CR3) */
	fake_regs[0].gs_base = 0xffffc90000000000ull;
	CHECK_INT(qvmi_linux_current_task(f.lx, 0, &c), ==, -EFAULT);
	/* the slot's address wraps */
	fake_regs[0].gs_base = 0xffffffffffff0000ull;
	CHECK_INT(qvmi_linux_current_task(f.lx, 0, &c), ==, -EFAULT);
	CHECK_INT(qvmi_linux_current_task(f.lx, 9, &c), ==, -EINVAL);
	CHECK_INT(qvmi_linux_current_task(f.lx, 0, NULL), ==, -EINVAL);
	CHECK_INT(qvmi_linux_current_task(NULL, 0, &c), ==, -EINVAL);
	teardown(&f);
}

static void test_missing(void)
{
	struct qvmi_linux_current c;
	struct fixture f;

	/* no BTF */
	setup(&f, false, false);
	CHECK_INT(qvmi_linux_current_task(f.lx, 0, &c), ==, -ENOENT);
	teardown(&f);
	/* pcpu_hot symbol but BTF without the struct, and no current_task */
	setup(&f, true, true);
	btf__free(f.lx->btf);
	f.lx->btf = make_btf(false);
	CHECK_INT(qvmi_linux_current_task(f.lx, 0, &c), ==, -ENOENT);
	CHECK(strstr(qvmi_errmsg(f.ctx), "current_task") != NULL);
	teardown(&f);
}

static const struct qvmi_test current_tests[] = {
	{ "current_task_61", test_current_task_61 },
	{ "pcpu_hot_62", test_pcpu_hot_62 },
	{ "percpu_base", test_percpu_base },
	{ "hostile", test_hostile },
	{ "missing", test_missing },
};
QVMI_SUITE(current, current_tests);
