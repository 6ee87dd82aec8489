// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Linux views over a synthetic kernel (tests/lib/fake-kernel.h): task
 * lists with threads, cycles, bad pointers and more than the budget; VMAs
 * in maple trees (range/arange roots, stale slots past the end, a
 * self-linked node) and in vm_next lists; file paths across mounts;
 * cmdline through a process page table; modules in both layouts; dmesg
 * from a wrapped 5.10+ ring and from an old log_buf.
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

#define MEM (8u << 20)

enum { PF_KTHREAD = 0x00200000 };

struct world {
	struct fk k;
	uint64_t init, kthreadd, proc, t1, t2, zombie, dwait, mm, pgd, cred;
};

static uint64_t thread(struct world *w, int tid)
{
	struct fk *k = &w->k;
	uint64_t t = fk_task(k, tid, 100, w->init, "worker", 1);

	if (k->variant == FK_NEW) {
		uint64_t sig = w->proc + FK_TASK_SIGNAL;

		fk_w64(k, t + FK_TASK_SIGNAL, *(uint64_t *)fk_ptr(k, sig));
		fk_list_add_tail(
			k, *(uint64_t *)fk_ptr(k, sig) + FK_SIGNAL_THREAD_HEAD,
			t + FK_TASK_THREAD);
	} else {
		fk_list_add_tail(k, w->proc + FK_TASK_THREAD,
				 t + FK_TASK_THREAD);
	}
	fk_w64(k, t + FK_TASK_MM, w->mm);
	fk_w64(k, t + FK_TASK_CRED, w->cred);
	return t;
}

/* swapper(0) <- init(1) <- proc(100, threads 101 102), zombie(200),
 * dwait(300); kthreadd(2) */
static void world(struct world *w, enum fk_variant v)
{
	struct fk *k = &w->k;
	uint64_t it = fk_sym(FK_SYM_INIT_TASK), sig, init_cred;

	memset(w, 0, sizeof(*w));
	CHECK_OK(fk_create(k, v, MEM));
	init_cred = fk_alloc(k, FK_CRED_SIZE);
	w->cred = fk_alloc(k, FK_CRED_SIZE);
	fk_w32(k, w->cred + FK_CRED_UID, 1000);
	fk_w64(k, it + FK_TASK_CRED, init_cred);
	fk_w32(k, it + FK_TASK_FLAGS, PF_KTHREAD);
	w->init = fk_task(k, 1, 1, it, "init", 1);
	w->kthreadd = fk_task(k, 2, 2, it, "kthreadd", 0x402);
	fk_w32(k, w->kthreadd + FK_TASK_FLAGS, PF_KTHREAD);
	w->proc = fk_task(k, 100, 100, w->init, "proc", 1);
	w->zombie = fk_task(k, 200, 200, w->init, "zombie", 0);
	fk_w32(k, w->zombie + FK_TASK_EXIT_STATE, 0x20);
	w->dwait = fk_task(k, 300, 300, w->init, "dwait", 2);
	w->mm = fk_alloc(k, FK_MM_SIZE);
	w->pgd = fk_alloc(k, 4096 + 4096) + 4095;
	w->pgd &= ~4095ull;
	fk_w64(k, w->mm + FK_MM_PGD, w->pgd);
	for (uint64_t t = w->init; t <= w->dwait; t += FK_TASK_SIZE) {
		fk_w64(k, t + FK_TASK_CRED, t == w->proc ? w->cred : init_cred);
		if (t != w->kthreadd)
			fk_w64(k, t + FK_TASK_MM, w->mm);
	}
	fk_w64(k, w->proc + FK_TASK_START, 123456789);
	sig = fk_alloc(k, FK_SIGNAL_SIZE);
	fk_list_init(k, sig + FK_SIGNAL_THREAD_HEAD);
	fk_w64(k, w->proc + FK_TASK_SIGNAL, sig);
	if (v == FK_NEW) /* the leader is on signal->thread_head too */
		fk_list_add_tail(k, sig + FK_SIGNAL_THREAD_HEAD,
				 w->proc + FK_TASK_THREAD);
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
	CHECK_INT(t->state, ==, 'I');
	CHECK_INT(t->ppid, ==, 0);
	CHECK(t->flags & QVMI_LINUX_TASK_KTHREAD);
	CHECK_U64(t->dtb, ==, 0);
	t = by_pid(&l, 100);
	CHECK_STR(t->comm, "proc");
	CHECK_INT(t->ppid, ==, 1);
	CHECK_INT(t->uid, ==, 1000);
	CHECK_INT(t->state, ==, 'S');
	CHECK_U64(t->start_time, ==, 123456789);
	CHECK_U64(t->mm, ==, w->mm);
	CHECK_U64(t->dtb, ==, w->pgd - FK_POB);
	CHECK_U64(t->addr, ==, w->proc);
	CHECK(!(t->flags & QVMI_LINUX_TASK_KTHREAD));
	CHECK(t->flags & QVMI_LINUX_TASK_LEADER);
	CHECK_INT(by_pid(&l, 200)->state, ==, 'Z');
	CHECK_INT(by_pid(&l, 300)->state, ==, 'D');
	CHECK_INT(by_pid(&l, 1)->uid, ==, 0);
	qvmi_linux_task_list_deinit(&l);

	CHECK_OK(qvmi_linux_tasks(w->k.lx, QVMI_LINUX_THREADS, &l));
	CHECK_INT(l.n, ==, 8);
	CHECK_INT(l.tasks[4].pid, ==, 101); /* right after its leader */
	CHECK_INT(l.tasks[5].pid, ==, 102);
	CHECK_INT(l.tasks[5].tgid, ==, 100);
	CHECK(!(l.tasks[5].flags & QVMI_LINUX_TASK_LEADER));
	CHECK_INT(l.tasks[5].ppid, ==, 1);
	qvmi_linux_task_list_deinit(&l);
}

static void test_tasks_new(void)
{
	struct world w;

	world(&w, FK_NEW);
	check_world(&w);
	fk_destroy(&w.k);
	free(w.k.mem);
}

static void test_tasks_old(void)
{
	struct world w;

	world(&w, FK_OLD);
	check_world(&w);
	fk_destroy(&w.k);
	free(w.k.mem);
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

/*
 * The handle's first walk reads shared RAM with pread, not through its
 * mapping (views.h: cold): over a memfd-backed shm source, the tasks'
 * pages are not in our page tables after the first walk, and are after
 * the second; both walks give the same tasks.
 */
static void test_tasks_cold_pread(void)
{
	struct world w;
	struct qvmi_source *src = NULL;
	struct qvmi_linux_task_list l1, l2;
	int fd = memfd_create("views-cold", MFD_CLOEXEC);
	uint8_t *host;

	world(&w, FK_NEW);
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
	CHECK_INT(page_mapped(host + (w.proc - FK_POB)), ==, 0);
	CHECK_INT(page_mapped(host + (w.dwait - FK_POB)), ==, 0);
	CHECK(w.k.lx->views->walked && !w.k.lx->views->cold);
	CHECK_OK(qvmi_linux_tasks(w.k.lx, 0, &l2));
	CHECK_INT(page_mapped(host + (w.proc - FK_POB)), ==, 1);
	CHECK_INT(l1.n, ==, 6);
	CHECK_INT(l2.n, ==, l1.n);
	for (size_t i = 0; i < l1.n && i < l2.n; i++) {
		CHECK_INT(l1.tasks[i].pid, ==, l2.tasks[i].pid);
		CHECK_INT(l1.tasks[i].ppid, ==, l2.tasks[i].ppid);
		CHECK_INT(l1.tasks[i].uid, ==, l2.tasks[i].uid);
		CHECK_U64(l1.tasks[i].dtb, ==, l2.tasks[i].dtb);
		CHECK_STR(l1.tasks[i].comm, l2.tasks[i].comm);
	}
	CHECK_INT(by_pid(&l1, 100)->uid, ==, 1000);
	CHECK_U64(by_pid(&l1, 100)->dtb, ==, w.pgd - FK_POB);
	qvmi_linux_task_list_deinit(&l1);
	qvmi_linux_task_list_deinit(&l2);
out:
	fk_destroy(&w.k);
	free(w.k.mem);
	if (fd >= 0)
		close(fd);
}

static int stop_at_100(const struct qvmi_linux_task *t, void *arg)
{
	(*(int *)arg)++;
	return t->pid == 100 ? 7 : 0;
}

static void test_tasks_find(void)
{
	struct qvmi_linux_task t;
	struct world w;
	int n = 0;

	world(&w, FK_NEW);
	CHECK_INT(qvmi_linux_task_foreach(w.k.lx, 0, stop_at_100, &n), ==, 7);
	CHECK_INT(n, ==, 4);
	CHECK_OK(qvmi_linux_task_find(w.k.lx, 300, 0, &t));
	CHECK_STR(t.comm, "dwait");
	CHECK_INT(qvmi_linux_task_find(w.k.lx, 102, 0, &t), ==, -ENOENT);
	CHECK_OK(qvmi_linux_task_find(w.k.lx, 102, QVMI_LINUX_THREADS, &t));
	CHECK_U64(t.addr, ==, w.t2);
	CHECK_INT(qvmi_linux_task_foreach(w.k.lx, 0x80, stop_at_100, &n), ==,
		  -EINVAL);
	fk_destroy(&w.k);
	free(w.k.mem);
}

static void test_tasks_cycle(void)
{
	struct qvmi_linux_task_list l;
	struct world w;

	world(&w, FK_NEW);
	/* zombie's next goes back to init, not to the head */
	fk_w64(&w.k, w.zombie + FK_TASK_TASKS, w.init + FK_TASK_TASKS);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -ELOOP);
	CHECK(l.partial);
	CHECK_INT(l.n, ==, 5); /* 0 1 2 100 200 */
	CHECK(strstr(qvmi_errmsg(w.k.ctx), "cycle"));
	qvmi_linux_task_list_deinit(&l);
	/* a self-linked task */
	fk_w64(&w.k, w.init + FK_TASK_TASKS, w.init + FK_TASK_TASKS);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 2);
	qvmi_linux_task_list_deinit(&l);
	/* garbage and unbacked pointers */
	fk_w64(&w.k, w.init + FK_TASK_TASKS, 0x1234);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -EFAULT);
	CHECK_INT(l.n, ==, 2);
	CHECK(l.partial);
	qvmi_linux_task_list_deinit(&l);
	fk_w64(&w.k, w.init + FK_TASK_TASKS, FK_POB + (1ull << 40));
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -EFAULT);
	qvmi_linux_task_list_deinit(&l);
	/* a cycle in a thread list */
	fk_w64(&w.k, w.init + FK_TASK_TASKS, w.kthreadd + FK_TASK_TASKS);
	fk_w64(&w.k, w.t2 + FK_TASK_THREAD, w.t1 + FK_TASK_THREAD);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, QVMI_LINUX_THREADS, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 6); /* ... 100 101 102 */
	qvmi_linux_task_list_deinit(&l);
	fk_destroy(&w.k);
	free(w.k.mem);
}

/* A task_struct whose first fields are in guest memory and the rest past
 * its end: the field set is read span by span (the one-check fast path
 * must refuse it) and the walk stops with -EFAULT at that task. */
static void test_tasks_edge(void)
{
	struct qvmi_linux_task_list l;
	struct world w;
	uint64_t edge;

	world(&w, FK_NEW);
	check_world(&w); /* a full walk first: the fast path is primed */
	edge = FK_POB + w.k.size - 128;
	fk_w64(&w.k, edge + FK_TASK_TASKS,
	       *(uint64_t *)fk_ptr(&w.k, w.dwait + FK_TASK_TASKS));
	fk_w64(&w.k, w.zombie + FK_TASK_TASKS, edge + FK_TASK_TASKS);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -EFAULT);
	CHECK(l.partial);
	CHECK_INT(l.n, ==, 5); /* 0 1 2 100 200 */
	CHECK_U64(qvmi_fault_addr(w.k.ctx), ==, w.k.size); /* its PA */
	qvmi_linux_task_list_deinit(&l);
	fk_destroy(&w.k);
	free(w.k.mem);
}

/* init_task that is not the idle task (a damaged or foreign System.map
 * points elsewhere): no list at all, not one garbage row. */
static void test_tasks_foreign_init(void)
{
	struct qvmi_linux_task_list l;
	struct world w;
	uint64_t it = fk_sym(FK_SYM_INIT_TASK);

	world(&w, FK_NEW);
	fk_w32(&w.k, it + FK_TASK_PID, 4242);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -EBADMSG);
	CHECK_INT(l.n, ==, 0);
	CHECK(!l.partial);
	CHECK(strstr(qvmi_errmsg(w.k.ctx), "not the idle task") != NULL);
	qvmi_linux_task_list_deinit(&l);
	fk_w32(&w.k, it + FK_TASK_PID, 0);
	fk_w64(&w.k, it + FK_TASK_REAL_PARENT, w.init);
	CHECK_INT(qvmi_linux_tasks(w.k.lx, 0, &l), ==, -EBADMSG);
	CHECK_INT(l.n, ==, 0);
	qvmi_linux_task_list_deinit(&l);
	fk_w64(&w.k, it + FK_TASK_REAL_PARENT, it);
	check_world(&w);
	fk_destroy(&w.k);
	free(w.k.mem);
}

/* 70,000 distinct task addresses 16 bytes apart (their other fields read
 * each other's links): the walk stops at the budget. */
static void test_tasks_budget(void)
{
	struct qvmi_linux_task_list l;
	struct fk k;
	uint64_t base, it = fk_sym(FK_SYM_INIT_TASK);
	const uint64_t n = 70000;

	CHECK_OK(fk_create(&k, FK_NEW, MEM));
	base = fk_alloc(&k, n * 16 + FK_TASK_SIZE);
	CHECK(base);
	fk_w64(&k, it + FK_TASK_TASKS, base + FK_TASK_TASKS);
	for (uint64_t i = 0; i < n; i++)
		fk_w64(&k, base + i * 16 + FK_TASK_TASKS,
		       i + 1 < n ? base + (i + 1) * 16 + FK_TASK_TASKS :
				   it + FK_TASK_TASKS);
	CHECK_INT(qvmi_linux_tasks(k.lx, 0, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 65536);
	CHECK(l.partial);
	qvmi_linux_task_list_deinit(&l);
	fk_destroy(&k);
	free(k.mem);
}

static int count_rec(const struct qvmi_linux_log_rec *r, void *arg)
{
	(void)r;
	(void)arg;
	return 0;
}

static void test_no_btf(void)
{
	struct qvmi_linux_task_list l;
	struct qvmi_linux_vma_list vl;
	struct fk k;
	uint8_t *mem = calloc(1, MEM);

	CHECK(mem);
	CHECK_OK(fk_create_over(&k, FK_NEW, mem, MEM, NULL, 0));
	CHECK_INT(qvmi_linux_tasks(k.lx, 0, &l), ==, -ENOENT);
	CHECK_INT(l.n, ==, 0);
	CHECK_INT(qvmi_linux_vmas(k.lx, 1, &vl), ==, -ENOENT);
	{ /* a module list it cannot read is an error, never [] */
		struct qvmi_linux_module_list ml;

		CHECK_INT(qvmi_linux_modules(k.lx, &ml), ==, -ENOENT);
		CHECK_INT(ml.n, ==, 0);
		qvmi_linux_module_list_deinit(&ml);
	}
	/* dmesg says the types are missing (once), not which structs */
	CHECK_INT(qvmi_linux_dmesg(k.lx, count_rec, NULL), ==, -ENOENT);
	CHECK_MSG(!strncmp(qvmi_errmsg(k.ctx), "no BTF", 6), "%s",
		  qvmi_errmsg(k.ctx));
	fk_destroy(&k);
	free(mem);
}

/* ---- VMAs --------------------------------------------------------------- */

struct vm_world {
	struct world w;
	uint64_t vma[6], file_prog, file_data;
};

static uint64_t dentry(struct fk *k, uint64_t parent, const char *name)
{
	uint64_t d = fk_alloc(k, FK_DENTRY_SIZE), s = fk_alloc(k, 64);

	fk_wstr(k, s, name);
	fk_w64(k, d + FK_DENTRY_NAME, s);
	fk_w64(k, d + FK_DENTRY_PARENT, parent ? parent : d);
	return d;
}

static uint64_t file(struct fk *k, uint64_t mount, uint64_t dentry)
{
	uint64_t f = fk_alloc(k, FK_FILE_SIZE);

	fk_w64(k, f + FK_FILE_MNT, mount + FK_MOUNT_MNT);
	fk_w64(k, f + FK_FILE_DENTRY, dentry);
	return f;
}

/* / (root mount) with /bin/prog, and /mnt a mount point of a second
 * mount holding data.bin */
static void files(struct vm_world *v)
{
	struct fk *k = &v->w.k;
	uint64_t m1 = fk_alloc(k, FK_MOUNT_SIZE),
		 m2 = fk_alloc(k, FK_MOUNT_SIZE);
	uint64_t root = dentry(k, 0, "/"), bin = dentry(k, root, "bin");
	uint64_t mnt = dentry(k, root, "mnt"), r2 = dentry(k, 0, "/");

	fk_w64(k, m1 + FK_MOUNT_PARENT, m1);
	fk_w64(k, m1 + FK_MOUNT_MNT, root);
	fk_w64(k, m2 + FK_MOUNT_PARENT, m1);
	fk_w64(k, m2 + FK_MOUNT_MOUNTPOINT, mnt);
	fk_w64(k, m2 + FK_MOUNT_MNT, r2);
	v->file_prog = file(k, m1, dentry(k, bin, "prog"));
	v->file_data = file(k, m2, dentry(k, r2, "data.bin"));
}

static uint64_t vma(struct vm_world *v, uint64_t start, uint64_t end,
		    uint64_t flags, uint64_t file, uint64_t pgoff)
{
	struct fk *k = &v->w.k;
	uint64_t a = fk_alloc(k, FK_VMA_SIZE);

	fk_w64(k, a + FK_VMA_START, start);
	fk_w64(k, a + FK_VMA_END, end);
	fk_w64(k, a + FK_VMA_FLAGS, flags);
	fk_w64(k, a + FK_VMA_FILE, file);
	fk_w64(k, a + FK_VMA_PGOFF, pgoff);
	fk_w64(k, a + FK_VMA_MM, v->w.mm);
	return a;
}

static void vm_world(struct vm_world *v, enum fk_variant var)
{
	struct fk *k = &v->w.k;
	uint64_t sm, name;

	world(&v->w, var);
	files(v);
	v->vma[0] = vma(v, 0x400000, 0x401000, 5, v->file_prog, 0);
	v->vma[1] = vma(v, 0x401000, 0x402000, 0xb, v->file_data, 1);
	v->vma[2] = vma(v, 0x600000, 0x621000, 3, 0, 0x600);
	v->vma[3] = vma(v, 0x7ffd0000, 0x7fff0000, 3, 0, 0);
	v->vma[4] = vma(v, 0x7fff1000, 0x7fff3000, 5, 0, 0);
	fk_w64(k, v->w.mm + FK_MM_START_BRK, 0x600000);
	fk_w64(k, v->w.mm + FK_MM_BRK, 0x621000);
	fk_w64(k, v->w.mm + FK_MM_START_STACK, 0x7ffef000);
	sm = fk_alloc(k, 16);
	name = fk_alloc(k, 16);
	fk_wstr(k, name, "[vdso]");
	fk_w64(k, sm, name);
	fk_w64(k, v->vma[4] + FK_VMA_OPS, fk_sym(FK_SYM_SPECIAL_OPS));
	fk_w64(k, v->vma[4] + FK_VMA_PRIV, sm);
}

static void check_vmas(struct vm_world *v, int n)
{
	static const char *const names[] = { "/bin/prog", "/mnt/data.bin",
					     "[heap]", "[stack]", "[vdso]" };
	static const char *const perms[] = { "r-xp", "rw-s", "rw-p", "rw-p",
					     "r-xp" };
	struct qvmi_linux_vma_list l;

	CHECK_MSG(!qvmi_linux_vmas(v->w.k.lx, 100, &l), "vmas: %s",
		  qvmi_errmsg(v->w.k.ctx));
	CHECK_INT(l.n, ==, n);
	CHECK_U64(l.mm, ==, v->w.mm);
	for (int i = 0; i < n && i < (int)l.n; i++) {
		CHECK_U64(l.vmas[i].addr, ==, v->vma[i]);
		CHECK_STR(l.vmas[i].name, names[i]);
		CHECK_STR(l.vmas[i].perms, perms[i]);
	}
	CHECK_U64(l.vmas[1].pgoff, ==, 1);
	CHECK_U64(l.vmas[1].file, ==, v->file_data);
	CHECK_U64(l.vmas[4].end, ==, 0x7fff3000);
	qvmi_linux_vma_list_deinit(&l);
}

/* maple nodes are 256-byte aligned: the low byte carries the type */
static uint64_t mnode(struct fk *k)
{
	return (fk_alloc(k, 512) + 255) & ~255ull;
}

static uint64_t enode(uint64_t node, int type)
{
	return node | (uint64_t)type << 3 | 4;
}

static void leaf(struct fk *k, uint64_t node, const uint64_t *piv,
		 const uint64_t *slot, int n)
{
	for (int i = 0; i < n; i++) {
		if (i < 15)
			fk_w64(k, node + FK_MR_PIVOT + 8 * i, piv[i]);
		fk_w64(k, node + FK_MR_SLOT + 8 * i, slot[i]);
	}
}

/* root (range_64 or arange_64) -> two leaves */
static uint64_t maple(struct vm_world *v, int root_type)
{
	struct fk *k = &v->w.k;
	uint64_t a = mnode(k), b = mnode(k), r = mnode(k);
	const uint64_t *x = v->vma;
	uint64_t pa[] = { 0x3fffff, 0x400fff, 0x401fff, 0x5fffff, 0, 0 };
	uint64_t sa[] = { 0, x[0], x[1], 0, 0, x[4] }; /* slot 5: stale */
	uint64_t pb[] = { 0x620fff,   0x7ffcffff, 0x7ffeffff,
			  0x7fff0fff, 0x7fff2fff, UINT64_MAX };
	uint64_t sb[] = { x[2], 0, x[3], 0, x[4], 0 };
	uint32_t piv = root_type == 3 ? FK_MA_PIVOT : FK_MR_PIVOT;
	uint32_t slot = root_type == 3 ? FK_MA_SLOT : FK_MR_SLOT;

	leaf(k, a, pa, sa, 6);
	leaf(k, b, pb, sb, 6);
	fk_w64(k, r + piv, 0x5fffff);
	fk_w64(k, r + piv + 8, UINT64_MAX);
	fk_w64(k, r + slot, enode(a, 1));
	fk_w64(k, r + slot + 8, enode(b, 1));
	fk_w64(k, v->w.mm + FK_MM_ROOT, enode(r, root_type) | 2);
	return r;
}

/* A walk that stops early says so: an out-of-order pivot (the rest of
 * the node is unknown), a file path that breaks off before the root. */
static void check_maple_partial(struct vm_world *v)
{
	struct fk *k = &v->w.k;
	struct qvmi_linux_vma_list l;
	uint64_t r = maple(v, 2), b, prog;

	b = *(uint64_t *)fk_ptr(k, r + FK_MR_SLOT + 8) & ~255ull;
	fk_w64(k, b + FK_MR_PIVOT + 2 * 8, 0x7ffc0000); /* below 0x7ffd0000 */
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -EBADMSG);
	CHECK_INT(l.n, ==, 3);
	CHECK(l.partial);
	qvmi_linux_vma_list_deinit(&l);
	fk_w64(k, b + FK_MR_PIVOT + 2 * 8, 0x7ffeffff);
	check_vmas(v, 5);
	prog = *(uint64_t *)fk_ptr(k, v->file_prog + FK_FILE_DENTRY);
	fk_w64(k, prog + FK_DENTRY_PARENT, 0x1234); /* not a kernel pointer */
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -EBADMSG);
	CHECK_INT(l.n, ==, 5);
	CHECK(l.partial);
	CHECK(strstr(qvmi_errmsg(k->ctx), "path") != NULL);
	qvmi_linux_vma_list_deinit(&l);
}

static void test_vmas_maple(void)
{
	struct qvmi_linux_vma_list l;
	struct vm_world v;
	uint64_t r;

	vm_world(&v, FK_NEW);
	maple(&v, 2);
	check_vmas(&v, 5);
	r = maple(&v, 3);
	check_vmas(&v, 5);
	/* the root's second child is the root itself */
	fk_w64(&v.w.k, r + FK_MA_SLOT + 8, enode(r, 3));
	CHECK_INT(qvmi_linux_vmas(v.w.k.lx, 100, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 2);
	CHECK(l.partial);
	qvmi_linux_vma_list_deinit(&l);
	/* a node type that never holds VMAs */
	fk_w64(&v.w.k, v.w.mm + FK_MM_ROOT, enode(r, 0) | 2);
	CHECK_INT(qvmi_linux_vmas(v.w.k.lx, 100, &l), ==, -EBADMSG);
	qvmi_linux_vma_list_deinit(&l);
	/* a VMA of another mm is refused, the rest kept */
	maple(&v, 2);
	fk_w64(&v.w.k, v.vma[2] + FK_VMA_MM, v.w.mm + 64);
	CHECK_INT(qvmi_linux_vmas(v.w.k.lx, 100, &l), ==, -EBADMSG);
	CHECK_INT(l.n, ==, 4);
	CHECK(l.partial);
	qvmi_linux_vma_list_deinit(&l);
	fk_w64(&v.w.k, v.vma[2] + FK_VMA_MM, v.w.mm);
	check_maple_partial(&v);
	/* empty tree; a kernel thread; an unknown pid */
	fk_w64(&v.w.k, v.w.mm + FK_MM_ROOT, 0);
	CHECK_OK(qvmi_linux_vmas(v.w.k.lx, 100, &l));
	CHECK_INT(l.n, ==, 0);
	CHECK_INT(qvmi_linux_vmas(v.w.k.lx, 2, &l), ==, -ESRCH);
	CHECK_INT(qvmi_linux_vmas(v.w.k.lx, 4242, &l), ==, -ENOENT);
	fk_destroy(&v.w.k);
	free(v.w.k.mem);
}

static void test_vmas_list(void)
{
	struct qvmi_linux_vma_list l;
	struct vm_world v;
	struct fk *k = &v.w.k;

	vm_world(&v, FK_OLD);
	fk_w64(k, v.w.mm + FK_MM_ROOT, v.vma[0]);
	for (int i = 0; i < 4; i++)
		fk_w64(k, v.vma[i] + FK_VMA_NEXT, v.vma[i + 1]);
	check_vmas(&v, 5);
	{ /* [vdso]'s name not readable: kept, nameless, and said so */
		uint64_t sm = *(uint64_t *)fk_ptr(k, v.vma[4] + FK_VMA_PRIV);
		uint64_t name = *(uint64_t *)fk_ptr(k, sm);

		fk_w64(k, sm, 0x1234);
		CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -EBADMSG);
		CHECK_INT(l.n, ==, 5);
		CHECK(l.partial);
		CHECK_STR(l.vmas[4].name, "");
		qvmi_linux_vma_list_deinit(&l);
		fk_w64(k, sm, name);
		check_vmas(&v, 5);
	}
	fk_w64(k, v.vma[4] + FK_VMA_NEXT, v.vma[2]); /* a loop */
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 5);
	qvmi_linux_vma_list_deinit(&l);
	fk_w64(k, v.vma[2] + FK_VMA_NEXT, v.vma[2]); /* self-linked */
	CHECK_INT(qvmi_linux_vmas(k->lx, 100, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 3);
	qvmi_linux_vma_list_deinit(&l);
	fk_destroy(k);
	free(k->mem);
}

/* ---- cmdline through a 4-level page table ---------------------------------- */

static void test_proc_args(void)
{
	static const char args[] = "prog\0--flag\0value";
	struct world w;
	struct fk *k = &w.k;
	enum qvmi_paging_mode mode;
	uint64_t pdpt, pd, pt, page;
	struct qvmi_linux_args_block blk;

	world(&w, FK_NEW);
	pdpt = fk_alloc(k, 8192) + 4095;
	pdpt &= ~4095ull;
	pd = fk_alloc(k, 8192) + 4095;
	pd &= ~4095ull;
	pt = fk_alloc(k, 8192) + 4095;
	pt &= ~4095ull;
	page = fk_alloc(k, 8192) + 4095;
	page &= ~4095ull;
	/* VA 0x400000: PML4 0, PDPT 0, PD 2, PT 0 */
	fk_w64(k, w.pgd, (pdpt - FK_POB) | 7);
	fk_w64(k, pdpt, (pd - FK_POB) | 7);
	fk_w64(k, pd + 2 * 8, (pt - FK_POB) | 7);
	fk_w64(k, pt, (page - FK_POB) | 7);
	memcpy(fk_ptr(k, page + 0x100), args, sizeof(args));
	fk_w64(k, w.mm + FK_MM_ARG_START, 0x400100);
	fk_w64(k, w.mm + FK_MM_ARG_END, 0x400100 + sizeof(args));
	CHECK_OK(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_CMDLINE, &blk));
	CHECK_INT(blk.len, ==, sizeof(args));
	CHECK(!memcmp(blk.data, args, sizeof(args)));
	qvmi_linux_args_deinit(&blk);
	/* the block runs off the mapped page: an error, not the first 16
	 * bytes as if they were all */
	fk_w64(k, w.mm + FK_MM_ENV_START, 0x400ff0);
	fk_w64(k, w.mm + FK_MM_ENV_END, 0x401010);
	CHECK_INT(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_ENVIRON, &blk),
		  ==, -EFAULT);
	CHECK(blk.data == NULL);
	CHECK_INT(blk.len, ==, 0);
	CHECK_U64(qvmi_fault_addr(k->ctx), ==, 0x401000);
	CHECK(strstr(qvmi_errmsg(k->ctx), "16 of 32 bytes") != NULL);
	/* nothing mapped; a reversed range; a huge range is cut */
	fk_w64(k, w.mm + FK_MM_ENV_START, 0x500000);
	fk_w64(k, w.mm + FK_MM_ENV_END, 0x500010);
	CHECK_INT(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_ENVIRON, &blk),
		  ==, -EFAULT);
	fk_w64(k, w.mm + FK_MM_ENV_END, 0x400000);
	CHECK_INT(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_ENVIRON, &blk),
		  ==, -EBADMSG);
	fk_w64(k, w.mm + FK_MM_ARG_END, 0x400100 + (1ull << 40));
	CHECK_INT(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_CMDLINE, &blk),
		  ==, -EFAULT);
	CHECK(blk.data == NULL);
	/* longer than QVMI_LINUX_ARGS_MAX, all of it mapped (the page
	 * repeated): -E2BIG; exactly QVMI_LINUX_ARGS_MAX: whole */
	for (uint64_t i = 1; i <= QVMI_LINUX_ARGS_MAX / 4096; i++)
		fk_w64(k, pt + i * 8, (page - FK_POB) | 7);
	fk_w64(k, w.mm + FK_MM_ARG_START, 0x400000);
	fk_w64(k, w.mm + FK_MM_ARG_END, 0x400000 + QVMI_LINUX_ARGS_MAX + 1);
	CHECK_INT(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_CMDLINE, &blk),
		  ==, -E2BIG);
	CHECK(blk.data == NULL);
	fk_w64(k, w.mm + FK_MM_ARG_END, 0x400000 + QVMI_LINUX_ARGS_MAX);
	CHECK_OK(qvmi_linux_proc_args(k->lx, 100, QVMI_LINUX_CMDLINE, &blk));
	CHECK_INT(blk.len, ==, QVMI_LINUX_ARGS_MAX);
	qvmi_linux_args_deinit(&blk);
	CHECK_OK(qvmi_get_paging_mode(k->ctx, &mode));
	CHECK_INT(mode, ==, QVMI_PAGING_4LEVEL); /* from page_offset_base */
	fk_destroy(k);
	free(k->mem);
}

/* ---- modules ------------------------------------------------------------------ */

static void module(struct fk *k, const char *name, uint64_t base, uint32_t text,
		   uint32_t rest, int state)
{
	uint64_t m = fk_alloc(k, FK_MOD_SIZE);

	fk_wstr(k, m + FK_MOD_NAME, name);
	fk_w32(k, m + FK_MOD_STATE, (uint32_t)state);
	if (k->variant == FK_NEW) {
		/* MOD_TEXT, MOD_DATA, ..., one page in the last region
		 * (MOD_INIT_RODATA): /proc/modules adds up all seven */
		fk_w64(k, m + FK_MOD_MEM, base);
		fk_w32(k, m + FK_MOD_MEM + 8, text);
		fk_w32(k, m + FK_MOD_MEM + FK_MOD_MEM_SIZE + 8, rest);
		fk_w32(k,
		       m + FK_MOD_MEM + (FK_MOD_MEM_N - 1) * FK_MOD_MEM_SIZE +
			       8,
		       4096);
	} else {
		fk_w64(k, m + FK_MOD_CORE, base);
		fk_w32(k, m + FK_MOD_CORE + 8, text + rest + 4096);
		fk_w32(k, m + FK_MOD_CORE + 12, text);
	}
	fk_list_add_tail(k, fk_sym(FK_SYM_MODULES), m + FK_MOD_LIST);
}

static void check_modules(enum fk_variant v)
{
	struct qvmi_linux_module_list l;
	struct fk k;
	uint64_t m1;

	CHECK_OK(fk_create(&k, v, MEM));
	CHECK_OK(qvmi_linux_modules(k.lx, &l));
	CHECK_INT(l.n, ==, 0);
	module(&k, "crc7", 0xffffffffc0219000ull, 4096, 8192, 0);
	module(&k, "a_very_long_module_name_of_55_chars_xxxxxxxxxxxxxxxxxxx",
	       0xffffffffc0300000ull, 8192, 4096, 1);
	CHECK_OK(qvmi_linux_modules(k.lx, &l));
	CHECK_INT(l.n, ==, 2);
	CHECK_STR(l.mods[0].name, "crc7");
	CHECK_U64(l.mods[0].base, ==, 0xffffffffc0219000ull);
	CHECK_U64(l.mods[0].size, ==, 16384);
	CHECK_U64(l.mods[0].text_size, ==, 4096);
	CHECK_INT(l.mods[0].state, ==, QVMI_LINUX_MODULE_LIVE);
	CHECK_INT(strlen(l.mods[1].name), ==, 55);
	CHECK_INT(l.mods[1].state, ==, QVMI_LINUX_MODULE_COMING);
	m1 = l.mods[1].addr;
	qvmi_linux_module_list_deinit(&l);
	/* the second module links to itself */
	fk_w64(&k, m1 + FK_MOD_LIST, m1 + FK_MOD_LIST);
	CHECK_INT(qvmi_linux_modules(k.lx, &l), ==, -ELOOP);
	CHECK_INT(l.n, ==, 2);
	CHECK(l.partial);
	qvmi_linux_module_list_deinit(&l);
	fk_destroy(&k);
	free(k.mem);
}

static void test_modules(void)
{
	check_modules(FK_NEW);
	check_modules(FK_OLD);
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

static void desc(struct fk *k, uint64_t descs, uint64_t infos, uint64_t data,
		 uint64_t id, uint64_t begin, uint64_t next, const char *text)
{
	uint64_t d = descs + (id & 3) * FK_PRB_DESC_SIZE;
	uint64_t in = infos + (id & 3) * FK_PRB_INFO_SIZE;
	uint64_t off = (begin >> 7) == (next >> 7) ? begin & 127 : 0;

	fk_w64(k, d, 2ull << 62 | id); /* finalized */
	fk_w64(k, d + 8, begin);
	fk_w64(k, d + 16, next);
	fk_w64(k, in, id * 10);
	fk_w64(k, in + 8, id * 1000000);
	fk_w32(k, in + 16, (uint32_t)strlen(text) | 6u << 29); /* level 6 */
	fk_w64(k, data + off, id);
	memcpy(fk_ptr(k, data + off + 8), text, strlen(text));
}

static void test_dmesg_prb(void)
{
	struct recs s = { 0 };
	struct fk k;
	uint64_t rb, descs, infos, data;

	CHECK_OK(fk_create(&k, FK_NEW, MEM));
	rb = fk_alloc(&k, FK_PRB_SIZE);
	descs = fk_alloc(&k, 4 * FK_PRB_DESC_SIZE);
	infos = fk_alloc(&k, 4 * FK_PRB_INFO_SIZE);
	data = fk_alloc(&k, 128);
	fk_w64(&k, fk_sym(FK_SYM_PRB), rb);
	fk_w32(&k, rb + FK_PRB_COUNT_BITS, 2);
	fk_w64(&k, rb + FK_PRB_DESCS, descs);
	fk_w64(&k, rb + FK_PRB_INFOS, infos);
	fk_w64(&k, rb + FK_PRB_TAIL_ID, 5);
	fk_w64(&k, rb + FK_PRB_HEAD_ID, 8);
	fk_w32(&k, rb + FK_PRB_SIZE_BITS, 7);
	fk_w64(&k, rb + FK_PRB_DATA, data);
	desc(&k, descs, infos, data, 5, 176, 200, "first msg");
	desc(&k, descs, infos, data, 6, 200, 224, "second");
	/* wraps: the block goes to offset 0 of the next lap */
	desc(&k, descs, infos, data, 7, 224, 304, "third, wrapped around");
	fk_w64(&k, descs + 0 * FK_PRB_DESC_SIZE, 8); /* id 8 reserved */
	CHECK_OK(qvmi_linux_dmesg(k.lx, rec, &s));
	CHECK_INT(s.n, ==, 3);
	CHECK_STR(s.text[0], "first msg");
	CHECK_STR(s.text[1], "second");
	CHECK_STR(s.text[2], "third, wrapped around");
	CHECK_INT(s.level[2], ==, 6);
	CHECK_U64(s.seq[1], ==, 60);
	/* id 6's block was overwritten: no text, record kept */
	fk_w64(&k, data + 72, 99);
	memset(&s, 0, sizeof(s));
	CHECK_OK(qvmi_linux_dmesg(k.lx, rec, &s));
	CHECK_INT(s.n, ==, 3);
	CHECK_STR(s.text[1], "");
	/* fn's non-zero return stops the walk and comes back as it is:
	 * never mistaken for a count (it once was the count's type) */
	CHECK_INT(qvmi_linux_dmesg(k.lx, stop_at_first, NULL), ==, 7);
	/* a head id more than the ring's 4 descriptors past the tail:
	 * the 4 records seen are not the whole log */
	fk_w64(&k, rb + FK_PRB_HEAD_ID, 12);
	memset(&s, 0, sizeof(s));
	CHECK_INT(qvmi_linux_dmesg(k.lx, rec, &s), ==, -EBADMSG);
	CHECK(strstr(qvmi_errmsg(k.ctx), "partial") != NULL);
	fk_w64(&k, rb + FK_PRB_HEAD_ID, 8);
	/* absurd ring sizes */
	fk_w32(&k, rb + FK_PRB_SIZE_BITS, 40);
	CHECK_INT(qvmi_linux_dmesg(k.lx, rec, &s), ==, -EBADMSG);
	fk_destroy(&k);
	free(k.mem);
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

static void test_dmesg_logbuf(void)
{
	struct recs s = { 0 };
	struct fk k;
	uint64_t buf;

	CHECK_OK(fk_create(&k, FK_OLD, MEM));
	buf = fk_alloc(&k, 80);
	fk_w64(&k, fk_sym(FK_SYM_LOG_BUF), buf);
	/* the kernel wraps when a header would not fit after the record */
	fk_w32(&k, fk_sym(FK_SYM_LOG_BUF_LEN), 80);
	fk_w32(&k, fk_sym(FK_SYM_LOG_FIRST_IDX), 32);
	fk_w32(&k, fk_sym(FK_SYM_LOG_NEXT_IDX), 24);
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
	fk_w32(&k, fk_sym(FK_SYM_LOG_NEXT_IDX), 8);
	CHECK_INT(qvmi_linux_dmesg(k.lx, rec, &s), ==, -ELOOP);
	/* a record longer than the buffer */
	fk_w32(&k, fk_sym(FK_SYM_LOG_NEXT_IDX), 24);
	plog(&k, buf, 32, 60, "first", 3); /* 32 + 60 > 80 */
	CHECK_INT(qvmi_linux_dmesg(k.lx, rec, &s), ==, -EBADMSG);
	fk_destroy(&k);
	free(k.mem);
}

/* ---- helpers ----------------------------------------------------------------------- */

static const struct qvmi_test views_tests[] = {
	{ "tasks_new", test_tasks_new },
	{ "tasks_old", test_tasks_old },
	{ "tasks_cold_pread", test_tasks_cold_pread },
	{ "tasks_find", test_tasks_find },
	{ "tasks_cycle", test_tasks_cycle },
	{ "tasks_edge", test_tasks_edge },
	{ "tasks_foreign_init", test_tasks_foreign_init },
	{ "tasks_budget", test_tasks_budget },
	{ "no_btf", test_no_btf },
	{ "vmas_maple", test_vmas_maple },
	{ "vmas_list", test_vmas_list },
	{ "proc_args", test_proc_args },
	{ "modules", test_modules },
	{ "dmesg_prb", test_dmesg_prb },
	{ "dmesg_logbuf", test_dmesg_logbuf },
};
QVMI_SUITE(views, views_tests);
