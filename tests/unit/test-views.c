// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Linux views over the synthetic kernels of tests/lib/fake-kernel.h, one
 * set of test bodies run per layout: suite views on x86_64 (FK_NEW, and
 * FK_OLD where a body has a 5.x form), suite views32 on i386 PAE
 * (FK_I386 and FK_I386_OLD: 4-byte pointers and unsigned longs,
 * PAGE_OFFSET 0xc0000000, lay.ptr_size 4), the same tests by name.  Every value a body expects comes from the layout (its
 * pointer size, its maple node's slots, its direct-map base).
 *
 * Here: task lists with threads, cycles, bad pointers and more than the
 * budget; modules in both layouts; dmesg from a wrapped 5.10+ ring and
 * from an old log_buf; and the suite tables.  VMAs and cmdline are in
 * views-maps.c.  On i386 every pointer the views read is followed by
 * non-zero bytes, so an 8-byte read of one gives a wrong value.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake-kernel.h"
#include "harness.h"
#include "qvmi.h"
#include "os/linux/views.h"
#include "source/sources.h"

#include "views-world.h"

/* A direct-map address no memory backs, yet a plausible kernel pointer. */
static uint64_t unbacked(const struct fk_lay *L)
{
	return L->pob + (L->ptr == 4 ? 0x30000000ull : 1ull << 40);
}

/* The largest unsigned long of the layout. */
uint64_t vw_ulong_max(const struct fk_lay *L)
{
	return L->ptr == 4 ? UINT32_MAX : UINT64_MAX;
}

void vw_destroy(struct fk *k)
{
	fk_destroy(k);
	free(k->mem);
	k->mem = NULL;
}

static uint64_t thread(struct world *w, int tid)
{
	struct fk *k = &w->k;
	const struct fk_lay *L = w->L;
	uint64_t t = fk_task(k, tid, 100, w->init, "worker", 1);

	if (!fk_is_old(k->variant)) {
		uint64_t sig = fk_rp(k, w->proc + L->task.signal);

		fk_wp(k, t + L->task.signal, sig);
		fk_list_add_tail(k, sig + L->sig_head, t + L->task.thread);
	} else {
		fk_list_add_tail(k, w->proc + L->task.thread,
				 t + L->task.thread);
	}
	fk_wp(k, t + L->task.mm, w->mm);
	fk_wp(k, t + L->task.cred, w->cred);
	return t;
}

/* A page-aligned direct-map page; its VA. */
uint64_t vw_page(struct fk *k)
{
	return (fk_alloc(k, 8192) + 4095) & ~4095ull;
}

static void world_mm(struct world *w)
{
	struct fk *k = &w->k;
	const struct fk_lay *L = w->L;

	w->mm = fk_alloc(k, L->mm.size);
	/* PAE: the PDPT is 32-byte aligned, not page aligned */
	w->pgd = vw_page(k) + (L->ptr == 4 ? 0x20 : 0);
	fk_wp(k, w->mm + L->mm.pgd, w->pgd);
	fk_wp(k, w->mm + L->mm.pgd + L->ptr, 0xdeadbeef); /* neighbour */
	/* mm_mt.ma_flags after ma_root; unused after mmap (5.x) */
	fk_w32(k, w->mm + L->mm.root + L->ptr, 0x7777);
	fk_wp(k, w->mm + L->mm.env_end + L->ptr, JUNK);
}

/* swapper(0) <- init(1) <- proc(100, threads 101 102), zombie(200),
 * dwait(300); kthreadd(2) */
void vw_world(struct world *w, enum fk_variant v)
{
	struct fk *k = &w->k;
	const struct fk_lay *L = fk_layout(v);
	uint64_t it = L->text_va + FK_SYM_INIT_TASK, sig, init_cred;

	memset(w, 0, sizeof(*w));
	w->L = L;
	CHECK_OK(fk_create(k, v, MEM));
	init_cred = fk_alloc(k, L->cred_size);
	w->cred = fk_alloc(k, L->cred_size);
	fk_w32(k, w->cred + L->cred_uid, 1000);
	fk_wp(k, it + L->task.cred, init_cred);
	fk_w32(k, it + L->task.flags, PF_KTHREAD);
	w->init = fk_task(k, 1, 1, it, "init", 1);
	w->kthreadd = fk_task(k, 2, 2, it, "kthreadd", 0x402);
	fk_w32(k, w->kthreadd + L->task.flags, PF_KTHREAD);
	w->proc = fk_task(k, 100, 100, w->init, "proc", 1);
	w->zombie = fk_task(k, 200, 200, w->init, "zombie", 0);
	fk_w32(k, w->zombie + L->task.exit, 0x20);
	w->dwait = fk_task(k, 300, 300, w->init, "dwait", 2);
	world_mm(w);
	for (uint64_t t = w->init; t <= w->dwait; t += L->task.size) {
		fk_wp(k, t + L->task.cred, t == w->proc ? w->cred : init_cred);
		if (t != w->kthreadd)
			fk_wp(k, t + L->task.mm, w->mm);
	}
	fk_w64(k, w->proc + L->task.start, START_TIME);
	sig = fk_alloc(k, L->sig_size);
	fk_list_init(k, sig + L->sig_head);
	fk_wp(k, w->proc + L->task.signal, sig);
	if (!fk_is_old(v)) /* the leader is on signal->thread_head too */
		fk_list_add_tail(k, sig + L->sig_head,
				 w->proc + L->task.thread);
	w->t1 = thread(w, 101);
	w->t2 = thread(w, 102);
}

static const struct qvmi_linux_task *
by_pid(const struct qvmi_linux_task_list *l, int pid)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->tasks[i].pid == pid)
			return &l->tasks[i];
	return NULL;
}

static void check_world(struct world *w)
{
	struct qvmi_linux_task_list l;
	const struct qvmi_linux_task *t;
	static const int order[] = { 0, 1, 2, 100, 200, 300 };

	CHECK_OK(qvmi_linux_tasks(w->k.lx, 0, &l));
	CHECK_INT(l.n, ==, 6);
	CHECK(!l.partial);
	for (size_t i = 0; i < 6; i++)
		CHECK_INT(l.tasks[i].pid, ==, order[i]);
	t = by_pid(&l, 0);
	CHECK_STR(t->comm, "swapper/0");
	CHECK_INT(t->ppid, ==, 0);
	CHECK(t->flags & QVMI_LINUX_TASK_KTHREAD);
	CHECK_INT(t->state, ==, 'R');
	t = by_pid(&l, 2);
	CHECK_STR(t->comm, "kthreadd");
	CHECK_INT(t->state, ==, 'I');
	CHECK_INT(t->ppid, ==, 0);
	CHECK(t->flags & QVMI_LINUX_TASK_KTHREAD);
	CHECK_U64(t->dtb, ==, 0);
	t = by_pid(&l, 100);
	CHECK_STR(t->comm, "proc");
	CHECK_INT(t->ppid, ==, 1);
	CHECK_INT(t->uid, ==, 1000);
	CHECK_INT(t->state, ==, 'S');
	CHECK_U64(t->start_time, ==, START_TIME);
	CHECK_U64(t->mm, ==, w->mm);
	CHECK_U64(t->dtb, ==, w->pgd - w->L->pob);
	CHECK_U64(t->addr, ==, w->proc);
	CHECK(!(t->flags & QVMI_LINUX_TASK_KTHREAD));
	CHECK(t->flags & QVMI_LINUX_TASK_LEADER);
	CHECK_INT(by_pid(&l, 200)->state, ==, 'Z');
	CHECK_INT(by_pid(&l, 300)->state, ==, 'D');
	CHECK_INT(by_pid(&l, 1)->uid, ==, 0);
	CHECK_INT(by_pid(&l, 1)->ppid, ==, 0);
	CHECK_U64(by_pid(&l, 1)->mm, ==, w->mm);
	qvmi_linux_task_list_deinit(&l);

	CHECK_OK(qvmi_linux_tasks(w->k.lx, QVMI_LINUX_THREADS, &l));
	CHECK_INT(l.n, ==, 8);
	CHECK_INT(l.tasks[4].pid, ==, 101); /* right after its leader */
	CHECK_INT(l.tasks[4].tgid, ==, 100);
	CHECK_STR(l.tasks[4].comm, "worker");
	CHECK_INT(l.tasks[5].pid, ==, 102);
	CHECK_INT(l.tasks[5].tgid, ==, 100);
	CHECK(!(l.tasks[5].flags & QVMI_LINUX_TASK_LEADER));
	CHECK_INT(l.tasks[5].ppid, ==, 1);
	qvmi_linux_task_list_deinit(&l);
}

static void tasks(enum fk_variant v)
{
	struct world w;

	vw_world(&w, v);
	check_world(&w);
	vw_destroy(&w.k);
}

/* Is the page at p mapped in our own page tables (/proc/self/pagemap
 * bit 63)?  -1 if that cannot be told. */
static int page_mapped(const void *p)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &e, sizeof(e), (off_t)((uintptr_t)p / 4096 * 8));
	close(fd);
	return n == (ssize_t)sizeof(e) ? (int)(e >> 63) : -1;
}

static void check_same_tasks(const struct qvmi_linux_task_list *l1,
			     const struct qvmi_linux_task_list *l2)
{
	CHECK_INT(l1->n, ==, 6);
	CHECK_INT(l2->n, ==, l1->n);
	for (size_t i = 0; i < l1->n && i < l2->n; i++) {
		CHECK_INT(l1->tasks[i].pid, ==, l2->tasks[i].pid);
		CHECK_INT(l1->tasks[i].ppid, ==, l2->tasks[i].ppid);
		CHECK_INT(l1->tasks[i].uid, ==, l2->tasks[i].uid);
		CHECK_U64(l1->tasks[i].dtb, ==, l2->tasks[i].dtb);
		CHECK_STR(l1->tasks[i].comm, l2->tasks[i].comm);
	}
}

/*
 * The handle's first walk reads shared RAM with pread, not through its
 * mapping (views.h: cold): over a memfd-backed shm source, the tasks'
 * pages are not in our page tables after the first walk, and are after
 * the second; both walks give the same tasks.
 */
static void tasks_cold_pread(enum fk_variant v)
{
	struct world w;
	struct qvmi_source *src = NULL;
	struct qvmi_linux_task_list l1, l2;
	int fd = memfd_create("views-cold", MFD_CLOEXEC);
	uint8_t *host;

	vw_world(&w, v);
	CHECK(fd >= 0);
	if (fd < 0)
		goto out;
	CHECK(pwrite(fd, w.k.mem, MEM, 0) == (ssize_t)MEM);
	/* registered later: it serves all of guest memory */
	CHECK_OK(qvmi__source_shm_create(w.k.ctx, fd, false, &src));
	fd = -1; /* the source's now */
	host = src ? qvmi__shm_host(src, 0) : NULL;
	CHECK(host);
	if (!host)
		goto out;
	CHECK_OK(qvmi__map_add_host(w.k.ctx, src, 0, MEM, 0, host));
	if (page_mapped(host) < 0) {
		SKIP("no /proc/self/pagemap");
		goto out;
	}
	CHECK_OK(qvmi_linux_tasks(w.k.lx, 0, &l1));
	CHECK_INT(page_mapped(host + (w.proc - w.L->pob)), ==, 0);
	CHECK_INT(page_mapped(host + (w.dwait - w.L->pob)), ==, 0);
	CHECK(w.k.lx->views->walked && !w.k.lx->views->cold);
	CHECK_OK(qvmi_linux_tasks(w.k.lx, 0, &l2));
	CHECK_INT(page_mapped(host + (w.proc - w.L->pob)), ==, 1);
	check_same_tasks(&l1, &l2);
	CHECK_INT(by_pid(&l1, 100)->uid, ==, 1000);
	CHECK_U64(by_pid(&l1, 100)->dtb, ==, w.pgd - w.L->pob);
	qvmi_linux_task_list_deinit(&l1);
	qvmi_linux_task_list_deinit(&l2);
out:
	vw_destroy(&w.k);
	if (fd >= 0)
		close(fd);
}

static int stop_at_100(const struct qvmi_linux_task *t, void *arg)
{
	(*(int *)arg)++;
	return t->pid == 100 ? 7 : 0;
}

static void tasks_find(enum fk_variant v)
{
	struct qvmi_linux_task t;
	struct world w;
	int n = 0;

	vw_world(&w, v);
	CHECK_INT(qvmi_linux_task_foreach(w.k.lx, 0, stop_at_100, &n), ==, 7);
	CHECK_INT(n, ==, 4);
	CHECK_OK(qvmi_linux_task_find(w.k.lx, 300, 0, &t));
	CHECK_STR(t.comm, "dwait");
	CHECK_INT(qvmi_linux_task_find(w.k.lx, 102, 0, &t), ==, -ENOENT);
	CHECK_OK(qvmi_linux_task_find(w.k.lx, 102, QVMI_LINUX_THREADS, &t));
	CHECK_U64(t.addr, ==, w.t2);
	CHECK_INT(qvmi_linux_task_foreach(w.k.lx, 0x80, stop_at_100, &n), ==,
		  -EINVAL);
	vw_destroy(&w.k);
}

static void tasks_cycle(enum fk_variant v)
{
	struct qvmi_linux_task_list l;
	struct world w;
	struct fk *k = &w.k;
	uint32_t tasks;

	vw_world(&w, v);
	tasks = w.L->task.tasks;
	/* zombie's next goes back to init, not to the head */
	fk_wp(k, w.zombie + tasks, w.init + tasks);
	CHECK_INT(qvmi_linux_tasks(k->lx, 0, &l), ==, -ELOOP);
	CHECK(l.partial);
	CHECK_INT(l.n, ==, 5); /* 0 1 2 100 200 */
	CHECK(strstr(qvmi_errmsg(k->ctx), "cycle"));
	qvmi_linux_task_list_deinit(&l);
	/* a self-linked task */
	fk_wp(k, w.init + tasks, w.init + tasks);
	CHECK_INT(qvmi_linux_tasks(k->lx, 0, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 2);
	qvmi_linux_task_list_deinit(&l);
	/* garbage, below PAGE_OFFSET (on i386 too), unbacked pointers */
	fk_wp(k, w.init + tasks, 0x1234);
	CHECK_INT(qvmi_linux_tasks(k->lx, 0, &l), ==, -EFAULT);
	CHECK_INT(l.n, ==, 2);
	CHECK(l.partial);
	qvmi_linux_task_list_deinit(&l);
	/* just below PAGE_OFFSET: i386 refuses it as no kernel pointer;
	 * on x86_64 it is outside the direct map, translated through
	 * init_mm, which the fake lacks */
	fk_wp(k, w.init + tasks, w.L->pob - 0x40 + tasks);
	CHECK_INT(qvmi_linux_tasks(k->lx, 0, &l), ==,
		  w.L->ptr == 4 ? -EFAULT : -ENOENT);
	CHECK(l.partial);
	qvmi_linux_task_list_deinit(&l);
	fk_wp(k, w.init + tasks, unbacked(w.L));
	CHECK_INT(qvmi_linux_tasks(k->lx, 0, &l), ==, -EFAULT);
	qvmi_linux_task_list_deinit(&l);
	/* a cycle in a thread list */
	fk_wp(k, w.init + tasks, w.kthreadd + tasks);
	fk_wp(k, w.t2 + w.L->task.thread, w.t1 + w.L->task.thread);
	CHECK_INT(qvmi_linux_tasks(k->lx, QVMI_LINUX_THREADS, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 6); /* ... 100 101 102 */
	qvmi_linux_task_list_deinit(&l);
	vw_destroy(k);
}

/* A task_struct whose first fields are in guest memory and the rest past
 * its end: the field set is read span by span (the one-check fast path
 * must refuse it) and the walk stops with -EFAULT at that task. */
static void tasks_edge(enum fk_variant v)
{
	struct qvmi_linux_task_list l;
	struct world w;
	uint64_t edge;
	uint32_t tasks;

	vw_world(&w, v);
	tasks = w.L->task.tasks;
	check_world(&w); /* a full walk first: the fast path is primed */
	edge = w.L->pob + w.k.size - w.L->task.size / 4;
	CHECK(edge + tasks + 2 * w.L->ptr <= w.L->pob + w.k.size);
	fk_wp(&w.k, edge + tasks, fk_rp(&w.k, w.dwait + tasks));
	fk_wp(&w.k, w.zombie + tasks, edge + tasks);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -EFAULT);
	CHECK(l.partial);
	CHECK_INT(l.n, ==, 5); /* 0 1 2 100 200 */
	CHECK_U64(qvmi_fault_addr(w.k.ctx), ==, w.k.size); /* its PA */
	qvmi_linux_task_list_deinit(&l);
	vw_destroy(&w.k);
}

/* init_task that is not the idle task (a damaged or foreign System.map
 * points elsewhere): no list at all, not one garbage row. */
static void tasks_foreign_init(enum fk_variant v)
{
	struct qvmi_linux_task_list l;
	struct world w;
	uint64_t it;

	vw_world(&w, v);
	it = fk_ksym(&w.k, FK_SYM_INIT_TASK);
	fk_w32(&w.k, it + w.L->task.pid, 4242);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -EBADMSG);
	CHECK_INT(l.n, ==, 0);
	CHECK(!l.partial);
	CHECK(strstr(qvmi_errmsg(w.k.ctx), "not the idle task") != NULL);
	qvmi_linux_task_list_deinit(&l);
	fk_w32(&w.k, it + w.L->task.pid, 0);
	fk_wp(&w.k, it + w.L->task.parent, w.init);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -EBADMSG);
	CHECK_INT(l.n, ==, 0);
	qvmi_linux_task_list_deinit(&l);
	fk_wp(&w.k, it + w.L->task.parent, it);
	check_world(&w);
	vw_destroy(&w.k);
}

/* 70,000 distinct task addresses 16 bytes apart (their other fields read
 * each other's links): the walk stops at the budget. */
static void tasks_budget(enum fk_variant v)
{
	struct qvmi_linux_task_list l;
	struct fk k;
	uint64_t base, it, at;
	const uint64_t n = 70000;

	CHECK_OK(fk_create(&k, v, MEM));
	it = fk_ksym(&k, FK_SYM_INIT_TASK) + k.L->task.tasks;
	base = fk_alloc(&k, n * 16 + k.L->task.size) + k.L->task.tasks;
	CHECK(base);
	fk_wp(&k, it, base);
	for (uint64_t i = 0; i < n; i++) {
		at = base + i * 16;
		fk_wp(&k, at, i + 1 < n ? at + 16 : it);
	}
	CHECK_INT(qvmi_linux_tasks(k.lx, 0, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 65536);
	CHECK(l.partial);
	qvmi_linux_task_list_deinit(&l);
	vw_destroy(&k);
}

static int count_rec(const struct qvmi_linux_log_rec *r, void *arg)
{
	(void)r;
	(void)arg;
	return 0;
}

static void no_btf(enum fk_variant v)
{
	struct qvmi_linux_task_list l;
	struct qvmi_linux_vma_list vl;
	struct qvmi_linux_module_list ml;
	struct fk k;
	uint8_t *mem = calloc(1, MEM);

	CHECK(mem);
	CHECK_OK(fk_create_over(&k, v, mem, MEM, NULL, 0));
	CHECK_INT(qvmi_linux_tasks(k.lx, 0, &l), ==, -ENOENT);
	CHECK_INT(l.n, ==, 0);
	CHECK_INT(qvmi_linux_vmas(k.lx, 1, &vl), ==, -ENOENT);
	/* a module list it cannot read is an error, never [] */
	CHECK_INT(qvmi_linux_modules(k.lx, &ml), ==, -ENOENT);
	CHECK_INT(ml.n, ==, 0);
	qvmi_linux_module_list_deinit(&ml);
	/* dmesg says the types are missing (once), not which structs */
	CHECK_INT(qvmi_linux_dmesg(k.lx, count_rec, NULL), ==, -ENOENT);
	CHECK_MSG(!strncmp(qvmi_errmsg(k.ctx), "no BTF", 6), "%s",
		  qvmi_errmsg(k.ctx));
	fk_destroy(&k);
	free(mem);
}

/* ---- modules ------------------------------------------------------------------ */

/* text + rest + one page of init: in mem[] (6.4+) MOD_TEXT, MOD_DATA and
 * the last region, MOD_INIT_RODATA; else core_layout and init_layout.
 * /proc/modules adds them all up. */
static void module(struct fk *k, const char *name, uint64_t base, uint32_t text,
		   uint32_t rest, int state)
{
	const struct fk_lay *L = k->L;
	uint64_t m = fk_alloc(k, L->mod.size);

	fk_wstr(k, m + L->mod.name, name);
	fk_w32(k, m + L->mod.state, (uint32_t)state);
	if (k->variant == FK_NEW) {
		fk_wp(k, m + L->mod.mem, base);
		fk_w32(k, m + L->mod.mem + 8, text);
		fk_w32(k, m + L->mod.mem + FK_MOD_MEM_SIZE + 8, rest);
		fk_w32(k,
		       m + L->mod.mem + (FK_MOD_MEM_N - 1) * FK_MOD_MEM_SIZE +
			       8,
		       4096);
	} else {
		fk_wp(k, m + L->mod.core, base);
		fk_w32(k, m + L->mod.core + L->ptr, text + rest);
		fk_w32(k, m + L->mod.core + L->ptr + 4, text);
		fk_w32(k, m + L->mod.init + L->ptr, 4096);
	}
	fk_list_add_tail(k, fk_ksym(k, FK_SYM_MODULES), m + L->mod.list);
}

static void modules(enum fk_variant v)
{
	struct qvmi_linux_module_list l;
	struct fk k;
	uint64_t m1, base;

	CHECK_OK(fk_create(&k, v, MEM));
	base = k.L->ptr == 4 ? 0xe07f9000u : 0xffffffffc0219000ull;
	CHECK_OK(qvmi_linux_modules(k.lx, &l));
	CHECK_INT(l.n, ==, 0);
	module(&k, "crc7", base, 4096, 8192, 0);
	module(&k, "a_very_long_module_name_of_55_chars_xxxxxxxxxxxxxxxxxxx",
	       base + 0xe7000, 8192, 4096, 1);
	CHECK_OK(qvmi_linux_modules(k.lx, &l));
	CHECK_INT(l.n, ==, 2);
	CHECK_STR(l.mods[0].name, "crc7");
	CHECK_U64(l.mods[0].base, ==, base);
	CHECK_U64(l.mods[0].size, ==, 16384);
	CHECK_U64(l.mods[0].text_size, ==, 4096);
	CHECK_INT(l.mods[0].state, ==, QVMI_LINUX_MODULE_LIVE);
	CHECK_INT(strlen(l.mods[1].name), ==, 55);
	CHECK_U64(l.mods[1].base, ==, base + 0xe7000);
	CHECK_U64(l.mods[1].size, ==, 16384);
	CHECK_U64(l.mods[1].text_size, ==, 8192);
	CHECK_INT(l.mods[1].state, ==, QVMI_LINUX_MODULE_COMING);
	m1 = l.mods[1].addr;
	qvmi_linux_module_list_deinit(&l);
	/* the second module links to itself */
	fk_wp(&k, m1 + k.L->mod.list, m1 + k.L->mod.list);
	CHECK_INT(qvmi_linux_modules(k.lx, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 2);
	CHECK(l.partial);
	qvmi_linux_module_list_deinit(&l);
	vw_destroy(&k);
}

/* ---- dmesg ------------------------------------------------------------------------ */

struct recs {
	int n;
	char text[8][64];
	int level[8];
	uint64_t seq[8];
};

static int rec(const struct qvmi_linux_log_rec *r, void *arg)
{
	struct recs *s = arg;

	if (s->n < 8) {
		snprintf(s->text[s->n], sizeof(s->text[0]), "%.*s",
			 (int)r->text_len, r->text);
		s->level[s->n] = r->level;
		s->seq[s->n] = r->seq;
	}
	s->n++;
	return 0;
}

static int stop_at_first(const struct qvmi_linux_log_rec *r, void *arg)
{
	(void)r, (void)arg;
	return 7;
}

struct ring {
	uint64_t rb, descs, infos, data;
};

/* Record id in descriptor id & 3: its state (1 committed, 2 finalized)
 * in the top two bits of state_var (62 or 30 id bits), its data block
 * "id (unsigned long), text" at begin (offset 0 of the next lap if it
 * would wrap). */
static void desc(struct fk *k, const struct ring *g, uint64_t id, int state,
		 uint64_t begin, uint64_t next, const char *text)
{
	uint32_t P = k->L->ptr;
	uint64_t d = g->descs + (id & 3) * k->L->prb.desc_size;
	uint64_t in = g->infos + (id & 3) * k->L->prb.info_size;
	uint64_t off = (begin >> 7) == (next >> 7) ? begin & 127 : 0;

	fk_wp(k, d, (uint64_t)state << (8 * P - 2) | id);
	fk_wp(k, d + P, begin);
	fk_wp(k, d + 2 * P, next);
	fk_w64(k, in, id * 10);
	fk_w64(k, in + 8, id * 1000000);
	fk_w32(k, in + 16, (uint32_t)strlen(text) | 6u << 29); /* level 6 */
	fk_wp(k, g->data + off, id);
	memcpy(fk_ptr(k, g->data + off + P), text, strlen(text));
}

/* 4 descriptors (count_bits 2), 128 bytes of text, ids 5..7 */
static void ring(struct fk *k, struct ring *g)
{
	const struct fk_lay *L = k->L;
	uint32_t P = L->ptr;

	g->rb = fk_alloc(k, L->prb.size);
	g->descs = fk_alloc(k, 4 * L->prb.desc_size + P);
	g->infos = fk_alloc(k, 4 * L->prb.info_size);
	g->data = fk_alloc(k, 128);
	fk_wp(k, fk_ksym(k, FK_SYM_PRB), g->rb);
	fk_wp(k, fk_ksym(k, FK_SYM_PRB) + P, 0xabcdef01); /* neighbour */
	fk_w32(k, g->rb, 2);
	fk_wp(k, g->rb + L->prb.descs, g->descs);
	fk_wp(k, g->rb + L->prb.infos, g->infos);
	fk_wp(k, g->rb + L->prb.tail_id, 5);
	/* head_id: its state bits are ignored */
	fk_wp(k, g->rb + L->prb.head_id, 8 | 2ull << (8 * P - 2));
	fk_w32(k, g->rb + L->prb.size_bits, 7);
	fk_wp(k, g->rb + L->prb.data, g->data);
	fk_wp(k, g->rb + L->prb.data + P, 304); /* head_lpos */
	fk_wp(k, g->descs + 4 * L->prb.desc_size, JUNK);
	desc(k, g, 5, 2, 176, 200, "first msg");
	desc(k, g, 6, 2, 200, 224, "second");
	/* wraps: the block goes to offset 0 of the next lap */
	desc(k, g, 7, 1, 224, 304, "third, wrapped around");
	fk_wp(k, g->descs, 8); /* id 8 reserved */
}

static void dmesg_prb(enum fk_variant v)
{
	struct recs s = { 0 };
	struct ring g;
	struct fk k;
	const struct fk_lay *L;

	CHECK_OK(fk_create(&k, v, MEM));
	L = k.L;
	ring(&k, &g);
	CHECK_OK(qvmi_linux_dmesg(k.lx, rec, &s));
	CHECK_INT(s.n, ==, 3);
	CHECK_STR(s.text[0], "first msg");
	CHECK_STR(s.text[1], "second");
	CHECK_STR(s.text[2], "third, wrapped around");
	CHECK_INT(s.level[2], ==, 6);
	CHECK_U64(s.seq[1], ==, 60);
	CHECK_U64(s.seq[2], ==, 70);
	/* id 6's block was overwritten: no text, record kept */
	fk_wp(&k, g.data + 72, 99);
	memset(&s, 0, sizeof(s));
	CHECK_OK(qvmi_linux_dmesg(k.lx, rec, &s));
	CHECK_INT(s.n, ==, 3);
	CHECK_STR(s.text[1], "");
	/* fn's non-zero return stops the walk and comes back as it is:
	 * never mistaken for a count (it once was the count's type) */
	CHECK_INT(qvmi_linux_dmesg(k.lx, stop_at_first, NULL), ==, 7);
	/* a head id more than the ring's 4 descriptors past the tail:
	 * the 4 records seen are not the whole log */
	fk_wp(&k, g.rb + L->prb.head_id, 12);
	memset(&s, 0, sizeof(s));
	CHECK_INT(qvmi_linux_dmesg(k.lx, rec, &s), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(k.ctx), "partial") != NULL);
	fk_wp(&k, g.rb + L->prb.head_id, 8);
	/* absurd ring sizes */
	fk_w32(&k, g.rb + L->prb.size_bits, 40);
	CHECK_INT(qvmi_linux_dmesg(k.lx, rec, &s), ==, -EBADMSG);
	vw_destroy(&k);
}

static void plog(struct fk *k, uint64_t buf, uint32_t idx, uint16_t len,
		 const char *text, int level)
{
	uint8_t *h = fk_ptr(k, buf + idx);

	memset(h, 0, FK_PLOG_SIZE);
	memcpy(h + 8, &len, 2);
	h[10] = (uint8_t)strlen(text);
	h[15] = (uint8_t)(level << 5);
	memcpy(h + FK_PLOG_SIZE, text, strlen(text));
}

static void dmesg_logbuf(enum fk_variant v)
{
	struct recs s = { 0 };
	struct fk k;
	uint64_t buf;

	CHECK_OK(fk_create(&k, v, MEM));
	buf = fk_alloc(&k, 80);
	fk_wp(&k, fk_ksym(&k, FK_SYM_LOG_BUF), buf);
	if (k.L->ptr == 4) /* a neighbour before log_buf_len */
		fk_w32(&k, fk_ksym(&k, FK_SYM_LOG_BUF) + 4, JUNK);
	/* the kernel wraps when a header would not fit after the record */
	fk_w32(&k, fk_ksym(&k, FK_SYM_LOG_BUF_LEN), 80);
	fk_w32(&k, fk_ksym(&k, FK_SYM_LOG_FIRST_IDX), 32);
	fk_w32(&k, fk_ksym(&k, FK_SYM_LOG_NEXT_IDX), 24);
	plog(&k, buf, 32, 24, "first", 3);
	plog(&k, buf, 56, 0, "", 0); /* wrap marker */
	plog(&k, buf, 0, 24, "second", 4);
	CHECK_MSG(qvmi_linux_dmesg(k.lx, rec, &s) == 0, "%s",
		  qvmi_errmsg(k.ctx));
	CHECK_INT(s.n, ==, 2);
	CHECK_STR(s.text[0], "first");
	CHECK_INT(s.level[0], ==, 3);
	CHECK_STR(s.text[1], "second");
	CHECK_INT(s.level[1], ==, 4);
	/* never reaching next_idx: two wraps */
	fk_w32(&k, fk_ksym(&k, FK_SYM_LOG_NEXT_IDX), 8);
	CHECK_INT(qvmi_linux_dmesg(k.lx, rec, &s), ==, -ELOOP);
	/* a record longer than the buffer */
	fk_w32(&k, fk_ksym(&k, FK_SYM_LOG_NEXT_IDX), 24);
	plog(&k, buf, 32, 60, "first", 3); /* 32 + 60 > 80 */
	CHECK_INT(qvmi_linux_dmesg(k.lx, rec, &s), ==, -EBADMSG);
	vw_destroy(&k);
}

/* ---- the two suites --------------------------------------------------------------- */

/* Each body under one name in both suites: views (x86_64) runs tag_64,
 * views32 (i386) tag_32; NEW is 6.1's types, OLD 5.x's. */
#define RUN(tag, body, v64, v32)   \
	static void tag##_64(void) \
	{                          \
		body(v64);         \
	}                          \
	static void tag##_32(void) \
	{                          \
		body(v32);         \
	}
#define NEW(tag, body) RUN(tag, body, FK_NEW, FK_I386)
#define OLD(tag, body) RUN(tag, body, FK_OLD, FK_I386_OLD)

NEW(tasks_new, tasks)
OLD(tasks_old, tasks)
NEW(tasks_cold_pread, tasks_cold_pread)
NEW(tasks_find, tasks_find)
NEW(tasks_cycle, tasks_cycle)
NEW(tasks_edge, tasks_edge)
NEW(tasks_foreign_init, tasks_foreign_init)
NEW(tasks_budget, tasks_budget)
NEW(no_btf, no_btf)
NEW(vmas_maple, vw_vmas_maple)
NEW(vmas_full_leaf, vw_vmas_full_leaf)
OLD(vmas_list, vw_vmas_list)
NEW(proc_args, vw_proc_args)
NEW(modules, modules)
OLD(modules_old, modules)
NEW(dmesg_prb, dmesg_prb)
OLD(dmesg_logbuf, dmesg_logbuf)

#define TESTS(T)                                                              \
	T(tasks_new), T(tasks_old), T(tasks_cold_pread), T(tasks_find),       \
		T(tasks_cycle), T(tasks_edge), T(tasks_foreign_init),         \
		T(tasks_budget), T(no_btf), T(vmas_maple), T(vmas_full_leaf), \
		T(vmas_list), T(proc_args), T(modules), T(modules_old),       \
		T(dmesg_prb), T(dmesg_logbuf)
/* (clang-format would take #tag for a directive) */
/* clang-format off */
#define T64(tag) { #tag, tag##_64 }
#define T32(tag) { #tag, tag##_32 }
/* clang-format on */

static const struct qvmi_test views_tests[] = { TESTS(T64) };
QVMI_SUITE(views, views_tests);

static const struct qvmi_test views32_tests[] = { TESTS(T32) };
QVMI_SUITE(views32, views32_tests);
