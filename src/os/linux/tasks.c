// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The task list: init_task.tasks links every thread-group leader.  The
 * threads of a group are on signal->thread_head through task.thread_node
 * (added in 3.14, the only link since 6.7 removed thread_group), or on the
 * leader's task.thread_group ring; BTF says which exists, and thread_node
 * wins when both do.  Every offset comes from BTF.
 *
 * Speed: the fields of one task_struct are read in a few spans (see
 * qvmi_lx_fields), the layout is looked up once per handle, and kernel
 * addresses in the direct map are turned into physical ones arithmetically,
 * so a walk over ~60 tasks touches guest memory about 8 times per task.
 */
#include <stdlib.h>
#include <string.h>

#include "views.h"

/* include/linux/sched.h; stable since 4.14 for the reported bits. */
enum {
	TASK_REPORT = 0x7f, /* R S D T t X Z P */
	TASK_UNINTERRUPTIBLE = 0x2,
	TASK_NOLOAD = 0x400,
	TASK_RTLOCK_WAIT = 0x1000, /* 5.15+ */
	PF_KTHREAD = 0x00200000,
};

/* __task_state_index() + task_index_to_char() of kernel 6.1. */
static char state_char(uint64_t state, uint64_t exit_state)
{
	static const char chars[] = "RSDTtXZPI";
	unsigned int report =
		(unsigned int)((state | exit_state) & TASK_REPORT);
	int idx;

	if ((state & (TASK_UNINTERRUPTIBLE | TASK_NOLOAD)) ==
	    (TASK_UNINTERRUPTIBLE | TASK_NOLOAD))
		report = TASK_REPORT + 1; /* TASK_REPORT_IDLE: 'I' */
	if (state == TASK_RTLOCK_WAIT)
		report = TASK_UNINTERRUPTIBLE;
	idx = report ? 32 - __builtin_clz(report) : 0;
	return idx < (int)sizeof(chars) - 1 ? chars[idx] : '?';
}

static int layout_threads(struct qvmi_linux *lx, struct qvmi_lx_task_layout *t)
{
	int err = 0;

	/* 6.7 removed thread_group; both exist from 2.6.38 to 6.6. */
	if (qvmi__lx_has(lx, "signal_struct", "thread_head") &&
	    qvmi__lx_has(lx, "task_struct", "thread_node")) {
		t->thread_mode = 1;
		err = qvmi__lx_off(lx, "task_struct", "signal", &t->signal);
		if (!err)
			err = qvmi__lx_off(lx, "task_struct", "thread_node",
					   &t->thread_link);
		if (!err)
			err = qvmi__lx_off(lx, "signal_struct", "thread_head",
					   &t->sig_thread_head);
	} else if (qvmi__lx_has(lx, "task_struct", "thread_group")) {
		t->thread_mode = 2;
		err = qvmi__lx_off(lx, "task_struct", "thread_group",
				   &t->thread_link);
	}
	return err;
}

static int layout_fields(struct qvmi_linux *lx, struct qvmi_lx_task_layout *t)
{
	static const char *const starts[] = { "start_boottime", "start_time" };
	int err;

	/* __state since 5.14 (commit 2f064a59a11f), state before. */
	err = qvmi__lx_member(lx, "task_struct", "__state", &t->state,
			      &t->state_size);
	if (err == -ENOENT)
		err = qvmi__lx_member(lx, "task_struct", "state", &t->state,
				      &t->state_size);
	if (!err)
		err = qvmi__lx_off(lx, "task_struct", "tasks", &t->tasks);
	if (!err)
		err = qvmi__lx_off(lx, "task_struct", "pid", &t->pid);
	if (!err)
		err = qvmi__lx_off(lx, "task_struct", "tgid", &t->tgid);
	if (!err)
		err = qvmi__lx_off(lx, "task_struct", "real_parent",
				   &t->real_parent);
	if (!err)
		err = qvmi__lx_off(lx, "task_struct", "cred", &t->cred);
	if (!err)
		err = qvmi__lx_member(lx, "task_struct", "comm", &t->comm,
				      &t->comm_len);
	if (!err)
		err = qvmi__lx_off(lx, "task_struct", "exit_state",
				   &t->exit_state);
	if (!err)
		err = qvmi__lx_off(lx, "task_struct", "flags", &t->flags);
	if (!err)
		err = qvmi__lx_off(lx, "task_struct", "mm", &t->mm);
	if (!err)
		err = qvmi__lx_off(lx, "cred", "uid.val", &t->cred_uid);
	if (!err)
		err = qvmi__lx_off(lx, "mm_struct", "pgd", &t->mm_pgd);
	for (size_t i = 0; !err && i < QVMI_ARRAY_SIZE(starts); i++) {
		err = qvmi__lx_off(lx, "task_struct", starts[i],
				   &t->start_time);
		if (err == -ENOENT && i + 1 < QVMI_ARRAY_SIZE(starts))
			err = 0;
		else
			break;
	}
	if (!err && (t->state_size > 8 || !t->comm_len))
		err = qvmi__err(lx->ctx, -EBADMSG,
				"linux: odd task_struct layout");
	return err;
}

static int task_layout(struct qvmi_linux *lx, struct qvmi_lx_task_layout **ret)
{
	struct qvmi_linux_views *v = NULL;
	struct qvmi_lx_task_layout *t;
	int err = qvmi__lx_views(lx, &v);

	if (err)
		return err;
	t = &v->task;
	if (v->task_done) {
		*ret = t;
		return v->task_err ? qvmi__err(lx->ctx, v->task_err,
					       "linux: no task layout") :
				     0;
	}
	err = qvmi_linux_sym_addr(lx, "init_task", &t->init_task);
	if (!err)
		err = layout_fields(lx, t);
	if (!err)
		err = layout_threads(lx, t);
	if (!err) {
		struct qvmi_lx_fields *f = &t->f;
		uint32_t ps = qvmi__lx_psize(lx);

		qvmi__lx_fields_deinit(f); /* a retry after -ENOMEM */
		qvmi__lx_fields_add(f, t->state, t->state_size);
		qvmi__lx_fields_add(f, t->exit_state, 4);
		qvmi__lx_fields_add(f, t->flags, 4);
		qvmi__lx_fields_add(f, t->tasks, ps);
		qvmi__lx_fields_add(f, t->pid, 4);
		qvmi__lx_fields_add(f, t->tgid, 4);
		qvmi__lx_fields_add(f, t->real_parent, ps);
		qvmi__lx_fields_add(f, t->cred, ps);
		qvmi__lx_fields_add(f, t->comm, t->comm_len);
		qvmi__lx_fields_add(f, t->mm, ps);
		qvmi__lx_fields_add(f, t->start_time, 8);
		if (t->thread_mode == 1)
			qvmi__lx_fields_add(f, t->signal, ps);
		if (t->thread_mode)
			qvmi__lx_fields_add(f, t->thread_link, ps);
		err = qvmi__lx_fields_plan(lx, f);
	}
	/* Only a layout problem is remembered; -ENOMEM may pass. */
	if (err != -ENOMEM) {
		v->task_done = true;
		v->task_err = err;
	}
	*ret = t;
	return err;
}

int qvmi__lx_tasks_fields(struct qvmi_linux *lx,
			  struct qvmi_lx_fields_info *ret)
{
	struct qvmi_lx_task_layout *t;
	int err = task_layout(lx, &t);

	if (!err)
		qvmi__lx_fields_info(&t->f, ret);
	return err;
}

/* ---- one task ------------------------------------------------------------ */

struct walk {
	struct qvmi_linux *lx;
	struct qvmi_lx_task_layout *t;
	unsigned int flags;
	qvmi_linux_task_fn fn;
	void *arg;
	struct qvmi_lx_seen seen;
	size_t budget;
	uint8_t *buf;
	/* last real_parent looked up: most tasks share one (kthreadd) */
	uint64_t parent_va;
	int32_t parent_tgid;
	uint64_t cred_va; /* and cred (init_cred for kernel threads) */
	uint32_t cred_uid;
};

/* Fill task from the buffer of task_struct bytes at va. */
static void decode(struct walk *w, uint64_t va, struct qvmi_linux_task *k)
{
	const struct qvmi_lx_task_layout *t = w->t;
	const uint8_t *b = w->buf;
	uint64_t parent = qvmi__lx_ptr(w->lx, b, t->real_parent);
	uint64_t cred = qvmi__lx_ptr(w->lx, b, t->cred), pgd, v64;
	uint32_t v32;
	size_t n = QVMI_MIN((size_t)t->comm_len, sizeof(k->comm) - 1);

	memset(k, 0, sizeof(*k));
	k->addr = va;
	k->pid = (int32_t)qvmi__lx_u32(b, t->pid);
	k->tgid = (int32_t)qvmi__lx_u32(b, t->tgid);
	memcpy(k->comm, b + t->comm, n);
	k->comm[n] = '\0';
	k->raw_state = qvmi__lx_uint(b, t->state, t->state_size);
	k->state = state_char(k->raw_state, qvmi__lx_u32(b, t->exit_state));
	k->start_time = qvmi__lx_u64(b, t->start_time);
	k->mm = qvmi__lx_ptr(w->lx, b, t->mm);
	if ((qvmi__lx_u32(b, t->flags) & PF_KTHREAD) || !k->mm)
		k->flags |= QVMI_LINUX_TASK_KTHREAD;
	if (k->pid == k->tgid)
		k->flags |= QVMI_LINUX_TASK_LEADER;
	/* init_task's real_parent is itself: its ppid is 0, like ps. */
	if (parent == va) {
		k->ppid = 0;
	} else if (parent == w->parent_va) {
		k->ppid = w->parent_tgid;
	} else if (!qvmi__lx_kread(w->lx, parent + t->tgid, &v32, 4)) {
		k->ppid = (int32_t)v32;
		w->parent_va = parent;
		w->parent_tgid = k->ppid;
	} else {
		k->ppid = -1;
	}
	k->uid = UINT32_MAX;
	if (cred == w->cred_va) {
		k->uid = w->cred_uid;
	} else if (!qvmi__lx_kread(w->lx, cred + t->cred_uid, &v32, 4)) {
		k->uid = v32;
		w->cred_va = cred;
		w->cred_uid = v32;
	}
	if (k->mm && !qvmi__lx_kread_ptr(w->lx, k->mm + t->mm_pgd, &pgd) &&
	    !qvmi_linux_va_to_pa(w->lx, pgd, &v64))
		k->dtb = v64;
	qvmi__clear_err(w->lx->ctx);
}

/*
 * The walk starts at init_task, the idle task: pid 0, tgid 0, its own
 * real_parent (init/init_task.c).  Anything else there means the symbol
 * or the offsets are not this kernel's (a damaged or foreign System.map or
 * ISF): every task after it would be garbage, so there is no list at all.
 */
static int check_init_task(struct walk *w, uint64_t va)
{
	const struct qvmi_lx_task_layout *t = w->t;
	uint64_t parent = qvmi__lx_ptr(w->lx, w->buf, t->real_parent);
	int32_t pid = (int32_t)qvmi__lx_u32(w->buf, t->pid);
	int32_t tgid = (int32_t)qvmi__lx_u32(w->buf, t->tgid);

	if (!pid && !tgid && parent == va)
		return 0;
	return qvmi__err(w->lx->ctx, -EBADMSG,
			 "init_task at 0x%" PRIx64 " is not the idle task "
			 "(pid %d, tgid %d, real_parent 0x%" PRIx64
			 "): the symbols or types are not this kernel's "
			 "(a damaged or another build's System.map or ISF?)",
			 va, pid, tgid, parent);
}

/* Count, check for a repeat, read and report the task at va. */
static int visit(struct walk *w, uint64_t va)
{
	struct qvmi_linux_task k;
	int r;

	if (!qvmi__lx_kptr(w->lx, va))
		return qvmi__fault(w->lx->ctx, va, "task list: bad pointer");
	if (!w->budget--)
		return qvmi__err(w->lx->ctx, -ELOOP,
				 "task list: more than %d tasks",
				 QVMI_LX_LIST_MAX);
	r = qvmi__lx_seen_add(&w->seen, va);
	if (r < 0)
		return qvmi__err(w->lx->ctx, r, "out of memory");
	if (r)
		return qvmi__err(w->lx->ctx, -ELOOP,
				 "task list: cycle at 0x%" PRIx64, va);
	r = qvmi__lx_fields_read(w->lx, &w->t->f, va, w->buf);
	if (!r && va == w->t->init_task)
		r = check_init_task(w, va);
	if (r)
		return r;
	decode(w, va, &k);
	r = w->fn(&k, w->arg);
	return r;
}

/* The next link of the list_head at buf[off], checked. */
static uint64_t next_of(struct walk *w, uint32_t off)
{
	return qvmi__lx_ptr(w->lx, w->buf, off);
}

/* Threads of the group whose leader was just read (w->buf holds it). */
static int walk_threads(struct walk *w, uint64_t leader)
{
	const struct qvmi_lx_task_layout *t = w->t;
	uint64_t head, n;
	int r;

	if (t->thread_mode == 1) {
		uint64_t sig = qvmi__lx_ptr(w->lx, w->buf, t->signal);

		if (!sig) /* exiting, or an idle task */
			return 0;
		head = sig + t->sig_thread_head;
		r = qvmi__lx_kread_ptr(w->lx, head, &n);
		if (r)
			return r;
	} else {
		head = leader + t->thread_link;
		n = next_of(w, t->thread_link);
	}
	if (!n) /* never linked */
		return 0;
	while (n != head) {
		uint64_t task = n - t->thread_link;

		if (task == leader) { /* signal->thread_head holds it too */
			r = qvmi__lx_kread_ptr(w->lx, n, &n);
			if (r)
				return r;
			if (!w->budget--)
				return qvmi__err(w->lx->ctx, -ELOOP,
						 "thread list: too long");
			continue;
		}
		r = visit(w, task);
		if (r)
			return r;
		n = next_of(w, t->thread_link);
	}
	return 0;
}

static int walk_all(struct walk *w)
{
	const struct qvmi_lx_task_layout *t = w->t;
	uint64_t head = t->init_task + t->tasks, task = t->init_task, next;
	int r;

	for (;;) {
		r = visit(w, task);
		if (r)
			return r;
		next = next_of(w, t->tasks);
		if ((w->flags & QVMI_LINUX_THREADS) && t->thread_mode) {
			r = walk_threads(w, task);
			if (r)
				return r;
		}
		if (next == head)
			return 0;
		task = next - t->tasks;
	}
}

QVMI_API int qvmi_linux_task_foreach(struct qvmi_linux *lx, unsigned int flags,
				     qvmi_linux_task_fn fn, void *arg)
{
	struct walk w = { 0 };
	int err;

	if (!lx || !fn)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "tasks: NULL") :
			    -EINVAL;
	if (flags & ~QVMI_LINUX_THREADS)
		return qvmi__err(lx->ctx, -EINVAL, "tasks: unknown flags");
	err = task_layout(lx, &w.t);
	if (err)
		return err;
	w.lx = lx;
	w.flags = flags;
	w.fn = fn;
	w.arg = arg;
	w.budget = QVMI_LX_LIST_MAX;
	w.buf = qvmi__lx_scratch_get(lx, &w.t->f);
	if (!w.buf)
		return -ENOMEM;
	w.parent_va = 1; /* never a real pointer */
	w.cred_va = 1;
	qvmi__lx_seen_init(&w.seen);
	/* The handle's first walk reads with pread (views.h: cold). */
	lx->views->cold = !lx->views->walked;
	err = walk_all(&w);
	lx->views->cold = false;
	lx->views->walked = true;
	qvmi__lx_seen_deinit(&w.seen);
	qvmi__lx_scratch_put(lx, w.buf);
	return err;
}

/* ---- collected list ------------------------------------------------------ */

struct collect {
	struct qvmi_linux_task_list *l;
	size_t cap;
};

static int collect_one(const struct qvmi_linux_task *t, void *arg)
{
	struct collect *c = arg;

	if (c->l->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 128;
		struct qvmi_linux_task *n =
			realloc(c->l->tasks, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->l->tasks = n;
		c->cap = cap;
	}
	c->l->tasks[c->l->n++] = *t;
	return 0;
}

QVMI_API int qvmi_linux_tasks(struct qvmi_linux *lx, unsigned int flags,
			      struct qvmi_linux_task_list *ret)
{
	struct collect c = { ret, 0 };
	int err;

	if (!ret)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "tasks: NULL") :
			    -EINVAL;
	memset(ret, 0, sizeof(*ret));
	err = qvmi_linux_task_foreach(lx, flags, collect_one, &c);
	if (err == -ENOMEM)
		qvmi__err(lx->ctx, err, "out of memory");
	if (err && ret->n)
		ret->partial = 1;
	return err;
}

QVMI_API void qvmi_linux_task_list_deinit(struct qvmi_linux_task_list *list)
{
	if (!list)
		return;
	free(list->tasks);
	memset(list, 0, sizeof(*list));
}

struct find {
	int32_t pid;
	struct qvmi_linux_task *out;
};

static int find_one(const struct qvmi_linux_task *t, void *arg)
{
	struct find *f = arg;

	if (t->pid != f->pid)
		return 0;
	*f->out = *t;
	return 1;
}

QVMI_API int qvmi_linux_task_find(struct qvmi_linux *lx, int32_t pid,
				  unsigned int flags,
				  struct qvmi_linux_task *ret)
{
	struct find f = { pid, ret };
	int r;

	if (!lx || !ret)
		return lx ? qvmi__err(lx->ctx, -EINVAL, "task_find: NULL") :
			    -EINVAL;
	r = qvmi_linux_task_foreach(lx, flags, find_one, &f);
	if (r == 1)
		return 0;
	if (r < 0)
		return r;
	return qvmi__err(lx->ctx, -ENOENT, "no task with pid %d", pid);
}
