// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Attaching to a live QEMU through its QMP socket.  QMP gives identity,
 * control and the discovery of the layout (layout.h): the RAM and ROM
 * ranges of HMP "info mtree -f" and each one's host address in QEMU
 * (gpa2hva).  From there the same code serves a full attach, a cached
 * one (layout-cache.c) and a refresh (layout-live.c): qvmi__layout_resolve
 * places each range in QEMU's mappings, qvmi__layout_build makes up to
 * three sources, slowest first so faster ones win where they overlap:
 *   xp      QMP "xp" over RAM and ROM: works everywhere, ~1 ms a call
 *   procmem process_vm_readv on QEMU's pid at gpa2hva addresses
 *   shm     mmap of a shared memory-backend-file/memfd (zero-copy)
 * Checked on QEMU 7.2 (Debian 1:7.2+dfsg-7+deb12u18).
 */
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "core/internal.h"
#include "attach-qmp.h"
#include "attach/qvmid.h"
#include "layout-cache.h"
#include "layout.h"
#include "proto/hmp.h"
#include "proto/qmp.h"
#include "source/sources.h"

enum {
	ATTACH_TIMEOUT_MS = 5000,
	/* mtree lines we act on; a real VM has a dozen */
	ATTACH_MAX_RANGES = QVMI_LAYOUT_MAX_RANGES,
};

/* One attach in progress. */
struct attach {
	struct qvmi_ctx *ctx;
	struct qvmi_qmp *q;
	struct qvmi_layout *l; /* being discovered */
	pid_t pid; /* > 0: QEMU's pid, given (qvmi__attach_qmp_ex) */
};

/* Where a QMP connection deferred by a cached attach goes. */
struct qvmi_qmp_lazy {
	char path[PATH_MAX];
	int timeout_ms;
	/* -EBUSY once QEMU did not greet (another client holds QMP): every
	 * later use fails at once with the same message. */
	int busy;
	char busy_msg[QVMI_ERRMSG_MAX];
	uint64_t dev, ino;
	int64_t ctime_s, ctime_ns;
	/* Not a socket path (a libvirt domain): opened through o. */
	bool opener;
	struct qvmi_qmp_opener o;
};

static bool is_memory_kind(const char *kind)
{
	return !strcmp(kind, "ram") || !strcmp(kind, "rom") ||
	       !strcmp(kind, "romd");
}

/* query-name / query-uuid: optional members, absent on unnamed VMs. */
static int query_string(struct qvmi_ctx *ctx, const char *cmd, const char *key,
			char **ret)
{
	struct json_object *r = NULL, *v;
	int err = qvmi__qmp_execute(ctx->qmp, cmd, NULL, &r);

	if (err)
		return err;
	if (json_object_object_get_ex(r, key, &v) &&
	    json_object_is_type(v, json_type_string))
		*ret = qvmi__strdup(json_object_get_string(v));
	else
		*ret = qvmi__strdup("");
	json_object_put(r);
	return *ret ? 0 : qvmi__err(ctx, -ENOMEM, "out of memory");
}

/* query-target: "x86_64" or "i386" (qemu-system-i386), whatever mode
 * the guest's vCPUs run in. */
static int query_arch(struct qvmi_ctx *ctx)
{
	char *arch = NULL;
	int err = query_string(ctx, "query-target", "arch", &arch);

	if (!err)
		snprintf(ctx->vm_arch, sizeof(ctx->vm_arch), "%s", arch);
	free(arch);
	return err;
}

/* Name and UUID are asked for when first wanted (qvmi_vm_info), not on
 * every attach: each QMP round trip costs 0.5-1 ms. */
int qvmi__qmp_identity(struct qvmi_ctx *ctx)
{
	int err = 0;

	if (!ctx->qmp && !ctx->qmp_lazy)
		return 0;
	if ((!ctx->vm_name || !ctx->vm_uuid || !ctx->vm_arch[0]) &&
	    (err = qvmi__qmp_need(ctx)))
		return err;
	if (!ctx->vm_name)
		err = query_string(ctx, "query-name", "name", &ctx->vm_name);
	if (!err && !ctx->vm_uuid)
		err = query_string(ctx, "query-uuid", "UUID", &ctx->vm_uuid);
	if (!err && !ctx->vm_arch[0])
		err = query_arch(ctx);
	return err;
}

/* Is the process at the other end of the QMP socket QEMU itself?  Unknown
 * (no /proc access) counts as yes, as before. */
static bool peer_is_qemu(pid_t pid, char *exe, size_t size)
{
	char path[64];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, exe, size - 1);
	if (n <= 0)
		return true;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	base = base ? base + 1 : exe;
	return !!strstr(base, "qemu");
}

/*
 * The pid whose memory holds guest RAM.  Through qvmid's QMP proxy the
 * socket's peer is qvmid, not QEMU: reading qvmid's address space at
 * QEMU's host addresses would serve qvmid's memory as guest RAM.  qvmid
 * names QEMU's pid in query-qvmi; any other non-QEMU peer gets no pid
 * (the memory then comes through QMP only).
 */
static pid_t qemu_pid_of(struct attach *a)
{
	pid_t pid = qvmi__qmp_peer_pid(a->q);
	struct json_object *r = NULL, *v;
	char exe[256] = "";
	int64_t qp = 0;

	if (a->pid > 0) {
		qvmi__log(a->ctx, QVMI_LOG_INFO,
			  "attach: QEMU pid %d as given (QMP peer pid %d)",
			  (int)a->pid, (int)pid);
		return a->pid;
	}
	if (pid <= 0 || peer_is_qemu(pid, exe, sizeof(exe)))
		return pid;
	if (!qvmi__qmp_execute(a->q, "query-qvmi", NULL, &r) &&
	    json_object_object_get_ex(r, "qemu-pid", &v) &&
	    json_object_is_type(v, json_type_int))
		qp = json_object_get_int64(v);
	json_object_put(r);
	if (qp > 0 && qp <= INT_MAX) {
		qvmi__log(a->ctx, QVMI_LOG_INFO,
			  "attach: QMP peer pid %d is qvmid; QEMU is pid %d",
			  (int)pid, (int)qp);
		return (pid_t)qp;
	}
	qvmi__log(a->ctx, QVMI_LOG_WARN,
		  "attach: QMP peer pid %d (%s) is not QEMU: guest memory "
		  "through QMP only",
		  (int)pid, exe);
	return 0;
}

static int read_identity(struct attach *a)
{
	struct qvmi_ctx *ctx = a->ctx;

	ctx->qemu_version = qvmi__strdup(qvmi__qmp_version(a->q));
	if (!ctx->qemu_version)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	ctx->qemu_pid = (int)qemu_pid_of(a);
	ctx->backend = "qmp";
	qvmi__log(ctx, QVMI_LOG_INFO, "attach: QEMU %s pid %d",
		  ctx->qemu_version, ctx->qemu_pid);
	return 0;
}

/* An HMP command's text, collected by a pipelined reply. */
struct hmp_out {
	int err;
	char *text;
};

static void hmp_reply(int err, struct json_object *ret, void *arg)
{
	struct hmp_out *o = arg;

	if (!err && !json_object_is_type(ret, json_type_string))
		err = -EPROTO;
	if (!err && !(o->text = qvmi__strdup(json_object_get_string(ret))))
		err = -ENOMEM;
	o->err = err;
}

static int send_hmp(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
		    const char *cmdline, qvmi_qmp_reply_fn fn, void *arg)
{
	struct json_object *args = json_object_new_object();
	int err;

	if (!args)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	json_object_object_add(args, "command-line",
			       json_object_new_string(cmdline));
	err = qvmi__qmp_send(q, "human-monitor-command", args, fn, arg);
	json_object_put(args);
	return err;
}

static int send_mtree(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
		      struct hmp_out *o)
{
	o->err = -EINPROGRESS;
	o->text = NULL;
	return send_hmp(ctx, q, "info mtree -f", hmp_reply, o);
}

/* RAM and ROM ranges of address space "memory", from "info mtree -f"
 * (sent ahead, answered in o once q is synced) into l->r. */
static int read_mtree(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
		      struct hmp_out *o, struct qvmi_layout *l)
{
	struct qvmi_mtree_range *m = NULL;
	size_t nm = 0, i;
	int err;

	err = qvmi__qmp_sync(q);
	if (!err && o->err == -ENOMEM)
		err = qvmi__err(ctx, -ENOMEM, "out of memory");
	else if (!err && o->err && o->err != -EREMOTEIO)
		err = qvmi__err(ctx, -EPROTO,
				"attach: info mtree -f: not a string");
	else if (!err)
		err = o->err; /* QEMU's error is in the message */
	if (!err)
		err = qvmi__hmp_parse_mtree(o->text, &m, &nm);
	free(o->text);
	o->text = NULL;
	if (err)
		return err;
	l->n = 0;
	for (i = 0; i < nm && l->n < ATTACH_MAX_RANGES; i++) {
		struct qvmi_layout_range *r = &l->r[l->n];

		if (!is_memory_kind(m[i].kind) || m[i].last < m[i].start ||
		    m[i].last - m[i].start == UINT64_MAX) /* all of 2^64 */
			continue;
		memset(r, 0, sizeof(*r));
		r->gpa = m[i].start;
		r->size = m[i].last - m[i].start + 1;
		r->mtree_off = m[i].offset;
		r->ram = !strcmp(m[i].kind, "ram");
		snprintf(r->name, sizeof(r->name), "%s", m[i].name);
		l->n++;
	}
	if (i < nm)
		qvmi__log(ctx, QVMI_LOG_WARN,
			  "attach: more than %d RAM/ROM ranges: the rest are "
			  "not mapped",
			  ATTACH_MAX_RANGES);
	free(m);
	if (!l->n)
		return qvmi__err(ctx, -EPROTO,
				 "attach: no RAM in QEMU's memory tree");
	return 0;
}

/* An earlier range of the same memory region as range i: QEMU keeps a
 * region's RAM contiguous in its address space (RAMBlock host + offset),
 * and "info mtree -f" gives each range's @offset into its region.  The
 * kind may differ: QEMU 7.2 prints a read-only range of a RAM region
 * (the PAM-shadowed BIOS area of "pc") as "rom" under the region's own
 * name.  With known set, only one whose host address is known. */
static const struct qvmi_layout_range *same_region(const struct qvmi_layout *l,
						   size_t i, bool known)
{
	for (size_t j = 0; j < i; j++)
		if ((l->r[j].has_hva || !known) &&
		    !strcmp(l->r[j].name, l->r[i].name) && l->r[i].name[0])
			return &l->r[j];
	return NULL;
}

static void hva_reply(int err, struct json_object *ret, void *arg)
{
	struct qvmi_layout_range *r = arg;
	uint64_t hva;

	if (!err && json_object_is_type(ret, json_type_string) &&
	    !qvmi__hmp_parse_gpa2hva(json_object_get_string(ret), &hva) &&
	    hva + (r->size - 1) >= hva) {
		r->hva = hva;
		r->has_hva = true;
	}
}

/* Ask QEMU (HMP gpa2hva, QEMU >= 2.12) for the host address of range i,
 * pipelined: the answers of one pass cost one round trip. */
static int ask_hva(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
		   struct qvmi_layout_range *r)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "gpa2hva 0x%" PRIx64, r->gpa);
	return send_hmp(ctx, q, cmd, hva_reply, r);
}

/* Host address of r from s, a range of the same region. */
static void derive_from(struct qvmi_layout_range *r,
			const struct qvmi_layout_range *s)
{
	uint64_t hva;

	if (r->has_hva || !s || !s->has_hva || s->hva < s->mtree_off)
		return;
	hva = s->hva - s->mtree_off + r->mtree_off;
	if (hva >= s->hva - s->mtree_off && hva + (r->size - 1) >= hva) {
		r->hva = hva;
		r->has_hva = true;
	}
}

/* A range of the same region in an earlier layout of the same QEMU. */
static const struct qvmi_layout_range *
prev_region(const struct qvmi_layout *prev, const struct qvmi_layout_range *r)
{
	for (size_t j = 0; prev && j < prev->n; j++)
		if (prev->r[j].has_hva && r->name[0] &&
		    !strcmp(prev->r[j].name, r->name))
			return &prev->r[j];
	return NULL;
}

/* Host virtual address of each range in QEMU: from prev (an earlier
 * layout of this QEMU) where it knows the region, else one query per
 * memory region, all in one round trip; then a second pass for ranges
 * whose region gave no usable answer.  A range QEMU cannot translate
 * keeps has_hva false.  QMP errors other than a broken connection only
 * cost that range its hva. */
static int find_hvas(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
		     struct qvmi_layout *l, const struct qvmi_layout *prev)
{
	size_t i, asked = 0;
	int err = 0;

	for (i = 0; i < l->n; i++)
		derive_from(&l->r[i], prev_region(prev, &l->r[i]));
	for (i = 0; !err && i < l->n; i++)
		if (!l->r[i].has_hva && !same_region(l, i, false) && ++asked)
			err = ask_hva(ctx, q, &l->r[i]);
	if (!err && asked)
		err = qvmi__qmp_sync(q);
	asked = 0;
	for (i = 0; !err && i < l->n; i++) {
		derive_from(&l->r[i], same_region(l, i, true));
		if (!l->r[i].has_hva && same_region(l, i, false) && ++asked)
			err = ask_hva(ctx, q, &l->r[i]);
	}
	if (!err && asked)
		err = qvmi__qmp_sync(q);
	for (i = 0; !err && i < l->n; i++)
		if (!l->r[i].has_hva)
			qvmi__log(ctx, QVMI_LOG_DEBUG,
				  "attach: no hva for 0x%" PRIx64 " (%s)",
				  l->r[i].gpa, l->r[i].name);
	return err == -EREMOTEIO ? 0 : err;
}

int qvmi__layout_discover(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
			  struct qvmi_layout *l, const struct qvmi_layout *prev)
{
	struct hmp_out mtree = { 0 };
	int err = send_mtree(ctx, q, &mtree);

	if (!err)
		err = read_mtree(ctx, q, &mtree, l);
	free(mtree.text);
	if (!err && l->pid > 0)
		err = find_hvas(ctx, q, l, prev);
	return err;
}

/* Where each range is in QEMU; a failure only costs the fast sources. */
static void resolve(struct qvmi_ctx *ctx, struct qvmi_layout *l)
{
	char why[160] = "";

	if (l->pid > 0 && qvmi__layout_resolve(l, why, sizeof(why)) < 0) {
		qvmi__log(ctx, QVMI_LOG_WARN,
			  "attach: QEMU's mappings unreadable (%s): memory "
			  "through QMP only",
			  why);
		for (size_t i = 0; i < l->n; i++)
			l->r[i].back = QVMI_BACK_NONE;
	}
}

static int attach_opts(struct qvmi_ctx *ctx,
		       const struct qvmi_attach_opts *opts, unsigned int *allow,
		       int *timeout_ms, bool *no_cache)
{
	const char *dir = QVMI_OPTS_GET(opts, cache_dir, (const char *)NULL);

	if (!QVMI_OPTS_VALID(opts, struct qvmi_attach_opts))
		return qvmi__err(ctx, -EINVAL,
				 "attach: unknown non-zero option fields");
	*no_cache = QVMI_OPTS_GET(opts, no_layout_cache, 0) ||
		    !qvmi__layout_enabled();
	free(ctx->cache_dir);
	ctx->cache_dir = NULL;
	if (dir && !(ctx->cache_dir = qvmi__strdup(dir)))
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	*allow = QVMI_OPTS_GET(opts, sources, 0u);
	*timeout_ms = QVMI_OPTS_GET(opts, timeout_ms, 0);
	if (*allow & ~(unsigned int)QVMI_SRC_ALL)
		return qvmi__err(ctx, -EINVAL, "attach: unknown source 0x%x",
				 *allow);
	if (*timeout_ms < 0)
		return qvmi__err(ctx, -EINVAL, "attach: negative timeout");
	if (!*allow)
		*allow = QVMI_SRC_ALL;
	if (!*timeout_ms)
		*timeout_ms = ATTACH_TIMEOUT_MS;
	return 0;
}

/*
 * The connection a cached attach skipped, made on first use.  The socket
 * must still be the file the attach checked, and the greeting's version
 * the cached one: a QEMU restarted since then is another VM.
 */
static int lazy_connect(struct qvmi_ctx *ctx)
{
	struct qvmi_qmp_lazy *z = ctx->qmp_lazy;
	struct qvmi_qmp *q;
	struct stat st;
	int err;

	if (!z)
		return qvmi__err(ctx, -ENOTCONN, "not attached over QMP");
	if (!z->opener &&
	    (stat(z->path, &st) || st.st_dev != z->dev || st.st_ino != z->ino ||
	     st.st_ctim.tv_sec != z->ctime_s ||
	     st.st_ctim.tv_nsec != z->ctime_ns))
		return qvmi__err(ctx, -ESTALE,
				 "QMP: %s is not the socket attached to "
				 "(QEMU restarted?)",
				 z->path);
	if (z->busy)
		return qvmi__err(ctx, z->busy, "%s", z->busy_msg);
	qvmi__log(ctx, QVMI_LOG_INFO, "attach: connecting to QMP on first use");
	err = z->opener ? z->o.open(ctx, &z->o, z->timeout_ms, &q) :
			  qvmi__qmp_open(ctx, z->path, z->timeout_ms, &q);
	if (err == -EBUSY) {
		z->busy = err;
		snprintf(z->busy_msg, sizeof(z->busy_msg), "%s",
			 qvmi_errmsg(ctx));
	}
	if (err)
		return err;
	if (ctx->qemu_version &&
	    strcmp(qvmi__qmp_version(q), ctx->qemu_version)) {
		qvmi__qmp_close(q);
		return qvmi__err(ctx, -ESTALE, "QMP: QEMU %s, attached to %s",
				 qvmi__qmp_version(q), ctx->qemu_version);
	}
	ctx->qmp = q;
	ctx->qmp_close = qvmi__qmp_close;
	free(ctx->qmp_lazy);
	ctx->qmp_lazy = NULL;
	qvmi__lay_watch(ctx);
	err = qvmi__ctl_qmp_bind(ctx);
	if (!err && ctx->vm_prelaunch)
		qvmi__lay_prelaunch(ctx);
	return err;
}

/* Identity and control of a cached attach, QMP deferred. */
static int cached_identity(struct qvmi_ctx *ctx, const struct qvmi_layout *c,
			   int timeout_ms, const struct qvmi_qmp_opener *o)
{
	struct qvmi_qmp_lazy *z = calloc(1, sizeof(*z));

	if (!z)
		return -ENOMEM;
	if (o) {
		z->opener = true;
		z->o = *o;
	}
	snprintf(z->path, sizeof(z->path), "%s", c->sock);
	z->timeout_ms = timeout_ms;
	z->dev = c->sock_dev;
	z->ino = c->sock_ino;
	z->ctime_s = c->sock_ctime_s;
	z->ctime_ns = c->sock_ctime_ns;
	ctx->qmp_lazy = z;
	ctx->qmp_connect = lazy_connect;
	ctx->qemu_version = qvmi__strdup(c->version);
	if (!ctx->qemu_version)
		return -ENOMEM;
	ctx->qemu_pid = c->pid;
	ctx->backend = "qmp";
	return qvmi__ctl_qmp_install(ctx, NULL);
}

/* Attach from the layout cache (layout-cache.c says what is checked):
 * the cached layout, built as a full attach builds one.  Any failure
 * leaves ctx as it was, the reason logged. */
static int attach_cached(struct qvmi_ctx *ctx, struct qvmi_layout *l,
			 int timeout_ms, const struct qvmi_qmp_opener *o)
{
	char why[320] = "out of memory";
	int err = qvmi__layout_load(l, ctx->cache_dir, why, sizeof(why));

	if (!err && (err = qvmi__layout_build(ctx, l, NULL, l->allow)))
		snprintf(why, sizeof(why), "%s", qvmi_errmsg(ctx));
	if (!err && !qvmi__layout_cacheable(l, why, sizeof(why)))
		err = -ESTALE; /* a range its source no longer serves */
	if (!err && (err = cached_identity(ctx, l, timeout_ms, o)))
		snprintf(why, sizeof(why), "%s", strerror(-err));
	if (!err)
		err = qvmi__lay_set(ctx, l, l->allow, true);
	if (err) {
		qvmi__log(ctx, QVMI_LOG_INFO,
			  "attach: layout cache not used: %s", why);
		qvmi__detach(ctx);
	} else {
		qvmi__log(ctx, QVMI_LOG_INFO,
			  "attach: QEMU %s pid %d, %zu ranges from the layout "
			  "cache; QMP on first use",
			  l->version, l->pid, l->n);
	}
	qvmi__clear_err(ctx);
	return err;
}

/* The full attach: QMP discovery, then the common resolve and build. */
static int attach_full(struct attach *a, unsigned int allow, bool cache)
{
	struct qvmi_ctx *ctx = a->ctx;
	struct qvmi_layout *l = a->l;
	struct hmp_out mtree = { 0 };
	uint64_t pre_hash = 0;
	int err = read_identity(a);

	/* Mappings that change while QMP is asked (a hot-plug racing us)
	 * must not be cached: the witness before and after. */
	if (!err && cache &&
	    (ctx->qemu_pid <= 0 ||
	     qvmi__layout_witness(ctx->qemu_pid, &pre_hash)))
		cache = false;

	/* Our event callback before the control backend's, which chains
	 * to it (layout-live.c). */
	if (!err)
		err = qvmi__lay_set(ctx, l, allow, cache);
	/* The memory tree is asked for first and read after query-status
	 * (ctl install): one round trip for both. */
	if (!err)
		err = send_mtree(ctx, a->q, &mtree);
	if (!err)
		err = qvmi__ctl_qmp_install(ctx, a->q);
	if (!err)
		err = read_mtree(ctx, a->q, &mtree, l);
	free(mtree.text);
	l->pid = ctx->qemu_pid;
	l->allow = allow;
	if (!err && ctx->qemu_pid > 0 && (allow & ~QVMI_SRC_XP))
		err = find_hvas(ctx, a->q, l, NULL);
	if (!err)
		resolve(ctx, l);
	if (!err)
		err = qvmi__layout_build(ctx, l, a->q, allow);
	if (!err)
		err = qvmi__lay_set(ctx, l, allow, cache);
	if (!err && ctx->vm_prelaunch)
		qvmi__lay_prelaunch(ctx);
	if (!err && cache)
		qvmi__lay_save(ctx, pre_hash);
	return err;
}

QVMI_API int qvmi_attach_qmp(struct qvmi_ctx *ctx, const char *qmp_path,
			     const struct qvmi_attach_opts *opts)
{
	return qvmi__attach_qmp_ex(ctx, qmp_path, -1, 0, opts);
}

/* Drop what an attach was handed when it cannot start. */
static void drop_conn(int fd, struct qvmi_qmp *conn)
{
	if (fd >= 0)
		close(fd);
	qvmi__qmp_close(conn);
}

/* One of: a socket path, a connected socket fd, an open connection
 * (taken in both cases). */
static int attach_ex(struct qvmi_ctx *ctx, const char *qmp_path, int fd,
		     struct qvmi_qmp *conn, int qemu_pid,
		     const struct qvmi_attach_opts *opts,
		     const struct qvmi_qmp_opener *o)
{
	struct attach a = { .ctx = ctx, .pid = qemu_pid };
	unsigned int allow = 0;
	int timeout_ms = 0, err;
	bool cache = false, no_cache = false;

	if (!ctx || (fd >= 0) + !!qmp_path + !!conn != 1) {
		drop_conn(fd, conn);
		return -EINVAL;
	}
	qvmi__clear_err(ctx);
	err = attach_opts(ctx, opts, &allow, &timeout_ms, &no_cache);
	if (!err && (ctx->qmp || ctx->ctl || ctx->sources))
		err = qvmi__err(ctx, -EBUSY, "attach: context already in use");
	a.l = err ? NULL : qvmi__layout_new();
	if (!err && !a.l)
		err = qvmi__err(ctx, -ENOMEM, "out of memory");
	if (err) {
		drop_conn(fd, conn);
		return err;
	}
	/* The socket's identity is taken before connecting: a QEMU that
	 * restarts in between leaves a cache that never matches.  No cache
	 * for an inherited connection or a given pid: nothing names them. */
	if (qmp_path && qemu_pid <= 0 && !no_cache &&
	    !qvmi__layout_sock_id(qmp_path, a.l)) {
		cache = true;
		a.l->allow = allow;
		if (!attach_cached(ctx, a.l, timeout_ms, NULL)) {
			free(a.l);
			return 0;
		}
		qvmi__layout_clear(a.l);
		qvmi__layout_sock_id(qmp_path, a.l);
	}
	if (o && !no_cache) { /* the opener's key names this QEMU */
		cache = true;
		snprintf(a.l->sock, sizeof(a.l->sock), "%s", o->key);
	}
	if (conn) {
		a.q = conn;
		qvmi__qmp_set_timeout(conn, timeout_ms);
		err = 0;
	} else {
		err = qmp_path ?
			      qvmi__qmp_open(ctx, qmp_path, timeout_ms, &a.q) :
			      qvmi__qmp_open_fd(ctx, fd, timeout_ms ?: 5000,
						&a.q);
	}
	if (!err) {
		ctx->qmp = a.q;
		ctx->qmp_close = qvmi__qmp_close;
		err = attach_full(&a, allow, cache);
	}
	free(a.l);
	if (err)
		qvmi__detach(ctx);
	else /* sources that did not apply left their reasons behind */
		qvmi__clear_err(ctx);
	return err;
}

int qvmi__attach_qmp_ex(struct qvmi_ctx *ctx, const char *qmp_path, int fd,
			int qemu_pid, const struct qvmi_attach_opts *opts)
{
	return attach_ex(ctx, qmp_path, fd, NULL, qemu_pid, opts, NULL);
}

int qvmi__attach_qmp_conn(struct qvmi_ctx *ctx, struct qvmi_qmp *q,
			  int qemu_pid, const struct qvmi_attach_opts *opts,
			  const struct qvmi_qmp_opener *o)
{
	return attach_ex(ctx, NULL, -1, q, qemu_pid, opts, o);
}

int qvmi__attach_cached_opener(struct qvmi_ctx *ctx,
			       const struct qvmi_qmp_opener *o,
			       const struct qvmi_attach_opts *opts)
{
	unsigned int allow = 0;
	int timeout_ms = 0, err;
	bool no_cache = false;
	struct qvmi_layout *l;

	qvmi__clear_err(ctx);
	err = attach_opts(ctx, opts, &allow, &timeout_ms, &no_cache);
	if (err || no_cache)
		return err ? err : -ENOENT;
	if (ctx->qmp || ctx->ctl || ctx->sources)
		return qvmi__err(ctx, -EBUSY, "attach: context already in use");
	l = qvmi__layout_new();
	if (!l)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	/* No file names the QEMU: the cached pid and its start time do
	 * (qvmi__layout_load), the socket identity stays zero. */
	snprintf(l->sock, sizeof(l->sock), "%s", o->key);
	l->allow = allow;
	err = attach_cached(ctx, l, timeout_ms, o);
	free(l);
	return err;
}
