// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Attaching to a live QEMU through its QMP socket.  QMP gives identity,
 * control and the RAM layout (HMP "info mtree -f"); memory is then served
 * by up to three sources, registered slowest first so faster ones win
 * where they overlap (later registrations override, segmap.c):
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
#include "layout-cache.h"
#include "proto/hmp.h"
#include "proto/qmp.h"
#include "source/sources.h"

enum {
	ATTACH_TIMEOUT_MS = 5000,
	/* mtree lines we act on; a real VM has a dozen */
	ATTACH_MAX_RANGES = 4096,
};

/* One RAM or ROM range of the flat view, with what we learned about it. */
struct range {
	uint64_t gpa, size, offset;
	bool ram; /* kind "ram" (else rom/romd) */
	bool has_hva;
	uint64_t hva;
	char name[64];
};

struct attach {
	struct qvmi_ctx *ctx;
	struct qvmi_qmp *q;
	unsigned int allow; /* enum qvmi_source_kind */
	struct range *r;
	size_t n;
	bool maps_known; /* maps_hash taken before the layout was read */
	uint64_t maps_hash;
	pid_t pid; /* > 0: QEMU's pid, given (qvmi__attach_qmp_ex) */
};

/* Where a QMP connection deferred by a cached attach goes. */
struct qvmi_qmp_lazy {
	char path[PATH_MAX];
	int timeout_ms;
	uint64_t dev, ino;
	int64_t ctime_s, ctime_ns;
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
	int err = qvmi_qmp_execute(ctx->qmp, cmd, NULL, &r);

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
	pid_t pid = qvmi_qmp_peer_pid(a->q);
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
	if (!qvmi_qmp_execute(a->q, "query-qvmi", NULL, &r) &&
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

	ctx->qemu_version = qvmi__strdup(qvmi_qmp_version(a->q));
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

static int send_hmp(struct attach *a, const char *cmdline, struct hmp_out *o)
{
	struct json_object *args = json_object_new_object();
	int err;

	if (!args)
		return qvmi__err(a->ctx, -ENOMEM, "out of memory");
	json_object_object_add(args, "command-line",
			       json_object_new_string(cmdline));
	o->err = -EINPROGRESS;
	o->text = NULL;
	err = qvmi_qmp_send(a->q, "human-monitor-command", args, hmp_reply, o);
	json_object_put(args);
	return err;
}

/* RAM and ROM ranges of address space "memory", from "info mtree -f"
 * (sent by qvmi_attach_qmp ahead of query-status, answered in o). */
static int read_layout(struct attach *a, struct hmp_out *o)
{
	struct qvmi_mtree_range *m = NULL;
	size_t nm = 0, i;
	int err;

	err = qvmi_qmp_sync(a->q);
	if (!err && o->err == -ENOMEM)
		err = qvmi__err(a->ctx, -ENOMEM, "out of memory");
	else if (!err && o->err && o->err != -EREMOTEIO)
		err = qvmi__err(a->ctx, -EPROTO,
				"attach: info mtree -f: not a string");
	else if (!err)
		err = o->err; /* QEMU's error is in the message */
	if (!err)
		err = qvmi_hmp_parse_mtree(o->text, &m, &nm);
	free(o->text);
	o->text = NULL;
	if (err)
		return err;
	a->r = calloc(QVMI_MIN(nm, (size_t)ATTACH_MAX_RANGES) + 1,
		      sizeof(*a->r));
	if (!a->r) {
		free(m);
		return qvmi__err(a->ctx, -ENOMEM, "out of memory");
	}
	for (i = 0; i < nm && a->n < ATTACH_MAX_RANGES; i++) {
		struct range *r = &a->r[a->n];

		if (!is_memory_kind(m[i].kind) || m[i].last < m[i].start)
			continue;
		r->gpa = m[i].start;
		r->size = m[i].last - m[i].start + 1;
		if (!r->size) /* all of 2^64: not RAM */
			continue;
		r->offset = m[i].offset;
		r->ram = !strcmp(m[i].kind, "ram");
		snprintf(r->name, sizeof(r->name), "%s", m[i].name);
		a->n++;
	}
	free(m);
	if (!a->n)
		return qvmi__err(a->ctx, -EPROTO,
				 "attach: no RAM in QEMU's memory tree");
	return 0;
}

/* The guest's RAM list: kind "ram" ranges, adjacent ones merged. */
static int add_ram(struct attach *a)
{
	for (size_t i = 0; i < a->n; i++) {
		int err = a->r[i].ram ?
				  qvmi__ram_add_merged(a->ctx, a->r[i].gpa,
						       a->r[i].size) :
				  0;

		if (err)
			return err;
	}
	return 0;
}

static int add_xp(struct attach *a)
{
	struct qvmi_source *xp;
	size_t i;
	int err;

	err = qvmi__source_xp_create(a->ctx, a->q, &xp);
	for (i = 0; !err && i < a->n; i++)
		err = qvmi_map_add(a->ctx, xp, a->r[i].gpa, a->r[i].size,
				   a->r[i].gpa);
	if (!err)
		qvmi__log(a->ctx, QVMI_LOG_INFO,
			  "attach: xp serves %zu RAM/ROM ranges", a->n);
	return err;
}

/* An earlier range of the same memory region as range i: QEMU keeps a
 * region's RAM contiguous in its address space (RAMBlock host + offset),
 * and "info mtree -f" gives each range's @offset into its region.  The
 * kind may differ: QEMU 7.2 prints a read-only range of a RAM region
 * (the PAM-shadowed BIOS area of "pc") as "rom" under the region's own
 * name.  With known set, only one whose host address is known. */
static const struct range *same_region(const struct attach *a, size_t i,
				       bool known)
{
	for (size_t j = 0; j < i; j++)
		if ((a->r[j].has_hva || !known) &&
		    !strcmp(a->r[j].name, a->r[i].name) && a->r[i].name[0])
			return &a->r[j];
	return NULL;
}

static void hva_reply(int err, struct json_object *ret, void *arg)
{
	struct range *r = arg;
	uint64_t hva;

	if (!err && json_object_is_type(ret, json_type_string) &&
	    !qvmi_hmp_parse_gpa2hva(json_object_get_string(ret), &hva) &&
	    hva + (r->size - 1) >= hva) {
		r->hva = hva;
		r->has_hva = true;
	}
}

/* Ask QEMU (HMP gpa2hva, QEMU >= 2.12) for the host address of range i,
 * pipelined: the answers of one pass cost one round trip. */
static int ask_hva(struct attach *a, size_t i)
{
	struct json_object *args = json_object_new_object();
	char cmd[64];
	int err;

	if (!args)
		return qvmi__err(a->ctx, -ENOMEM, "out of memory");
	snprintf(cmd, sizeof(cmd), "gpa2hva 0x%" PRIx64, a->r[i].gpa);
	json_object_object_add(args, "command-line",
			       json_object_new_string(cmd));
	err = qvmi_qmp_send(a->q, "human-monitor-command", args, hva_reply,
			    &a->r[i]);
	json_object_put(args);
	return err;
}

/* Host address of range i from an earlier range of its region. */
static void derive_hva(struct attach *a, size_t i)
{
	const struct range *s = same_region(a, i, true);
	uint64_t hva;

	if (a->r[i].has_hva || !s || s->hva < s->offset)
		return;
	hva = s->hva - s->offset + a->r[i].offset;
	if (hva >= s->hva - s->offset && hva + (a->r[i].size - 1) >= hva) {
		a->r[i].hva = hva;
		a->r[i].has_hva = true;
	}
}

/* Host virtual address of each range in QEMU: one query per memory
 * region, all in one round trip; then a second pass for ranges whose
 * region gave no usable answer.  A range QEMU cannot translate keeps
 * has_hva false.  QMP errors other than a broken connection only cost
 * that range its hva. */
static int find_hvas(struct attach *a)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < a->n; i++)
		if (!same_region(a, i, false))
			err = ask_hva(a, i);
	if (!err)
		err = qvmi_qmp_sync(a->q);
	for (i = 0; !err && i < a->n; i++) {
		derive_hva(a, i);
		if (!a->r[i].has_hva && same_region(a, i, false))
			err = ask_hva(a, i);
	}
	if (!err)
		err = qvmi_qmp_sync(a->q);
	for (i = 0; !err && i < a->n; i++)
		if (!a->r[i].has_hva)
			qvmi__log(a->ctx, QVMI_LOG_DEBUG,
				  "attach: no hva for 0x%" PRIx64 " (%s)",
				  a->r[i].gpa, a->r[i].name);
	return err == -EREMOTEIO ? 0 : err;
}

static int add_procmem(struct attach *a)
{
	struct qvmi_source *pm;
	size_t i, n = 0;
	uint8_t probe;
	int err;

	err = qvmi__source_procmem_create(a->ctx, a->ctx->qemu_pid, &pm);
	for (i = 0; !err && i < a->n; i++) {
		if (!a->r[i].has_hva)
			continue;
		/* One probe: without ptrace rights on QEMU every read would
		 * fail, so leave the ranges to the other sources. */
		if (!n && pm->ops->read(pm, a->r[i].hva, &probe, 1) < 0) {
			qvmi__log(a->ctx, QVMI_LOG_WARN,
				  "attach: procmem unusable: %s",
				  qvmi_errmsg(a->ctx));
			return 0;
		}
		err = qvmi_map_add(a->ctx, pm, a->r[i].gpa, a->r[i].size,
				   a->r[i].hva);
		n++;
	}
	if (!err)
		qvmi__log(a->ctx, QVMI_LOG_INFO,
			  "attach: procmem serves %zu ranges of pid %d", n,
			  a->ctx->qemu_pid);
	return err;
}

/* Distinct backing files seen; QEMU has one per memory backend. */
struct shm_file {
	dev_t dev;
	ino_t ino;
	struct qvmi_source *src;
};

enum { SHM_MAX_FILES = 16 };

static int shm_source_for(struct attach *a, const struct qvmi_shm_backing *b,
			  struct shm_file *files, size_t *nfiles,
			  struct qvmi_source **ret)
{
	size_t i;
	int fd, err;

	for (i = 0; i < *nfiles; i++) {
		if (files[i].dev == b->dev && files[i].ino == b->ino) {
			*ret = files[i].src;
			return 0;
		}
	}
	if (*nfiles == SHM_MAX_FILES)
		return qvmi__err(a->ctx, -ENOSPC,
				 "shm: more than %d backing files",
				 SHM_MAX_FILES);
	err = qvmi__shm_open_backing(a->ctx, a->ctx->qemu_pid, b, 0, &fd);
	if (!err)
		err = qvmi__source_shm_create(a->ctx, fd, b->writable, ret);
	if (err)
		return err;
	if (qvmi__shm_set_owner(*ret, a->ctx->qemu_pid))
		qvmi__log(a->ctx, QVMI_LOG_WARN,
			  "shm: no pidfd for QEMU %d: reads after it exits "
			  "return its last RAM contents",
			  a->ctx->qemu_pid);
	files[*nfiles].dev = b->dev;
	files[*nfiles].ino = b->ino;
	files[*nfiles].src = *ret;
	(*nfiles)++;
	qvmi__log(a->ctx, QVMI_LOG_INFO,
		  "attach: shm maps %s (%" PRIu64 " MiB)", b->path,
		  qvmi__shm_size(*ret) >> 20);
	return 0;
}

/* Register one range on shm if its host memory is a shared file mapping.
 * Returns 1 if registered, 0 if not shared (reason logged). */
static int add_shm_range(struct attach *a, const struct range *r,
			 struct shm_file *files, size_t *nfiles,
			 struct qvmi_shm_backing *last)
{
	struct qvmi_shm_backing b;
	struct qvmi_source *src;
	uint64_t off;
	int err;

	/* The ranges of one region lie in one mapping: /proc/PID/maps is
	 * read once for them (each read costs QEMU's whole map). */
	if (last->vma_end && r->hva >= last->vma_start &&
	    r->hva < last->vma_end) {
		b = *last;
	} else if (qvmi__shm_find_backing(a->ctx, a->ctx->qemu_pid, r->hva,
					  &b)) {
		qvmi__log(a->ctx, QVMI_LOG_INFO,
			  "attach: 0x%" PRIx64 " (%s) not on shared RAM: %s",
			  r->gpa, r->name, qvmi_errmsg(a->ctx));
		return 0;
	}
	*last = b;
	if (r->hva + (r->size - 1) >= b.vma_end) {
		qvmi__log(a->ctx, QVMI_LOG_WARN,
			  "attach: 0x%" PRIx64 " (%s) runs past its mapping",
			  r->gpa, r->name);
		return 0;
	}
	err = shm_source_for(a, &b, files, nfiles, &src);
	if (err) {
		qvmi__log(a->ctx, QVMI_LOG_WARN, "attach: %s",
			  qvmi_errmsg(a->ctx));
		return 0;
	}
	off = b.file_off + (r->hva - b.vma_start);
	if (off > qvmi__shm_size(src) || r->size > qvmi__shm_size(src) - off)
		return 0;
	/* A read-only view of a RAM region (PAM) has its hva from the
	 * region's other ranges: keep it only where the file agrees. */
	if (!r->ram && off != r->offset)
		return 0;
	if (r->ram && off != r->offset)
		qvmi__log(a->ctx, QVMI_LOG_DEBUG,
			  "attach: 0x%" PRIx64 ": file offset 0x%" PRIx64
			  ", mtree says @0x%" PRIx64,
			  r->gpa, off, r->offset);
	err = qvmi__map_add_host(a->ctx, src, r->gpa, r->size, off,
				 qvmi__shm_host(src, off));
	return err ? err : 1;
}

static int add_shm(struct attach *a)
{
	struct shm_file files[SHM_MAX_FILES];
	struct qvmi_shm_backing last = { 0 };
	size_t nfiles = 0, i, n = 0;
	int rc;

	for (i = 0; i < a->n; i++) {
		if (!a->r[i].has_hva)
			continue;
		rc = add_shm_range(a, &a->r[i], files, &nfiles, &last);
		if (rc < 0)
			return rc;
		n += (size_t)rc;
	}
	qvmi__log(a->ctx, QVMI_LOG_INFO, "attach: shm serves %zu ranges", n);
	return 0;
}

static int add_sources(struct attach *a)
{
	struct qvmi_ctx *ctx = a->ctx;
	bool pid = ctx->qemu_pid > 0;
	int err = 0;

	if (a->allow & QVMI_SRC_XP)
		err = add_xp(a);
	if (!err && pid && (a->allow & (QVMI_SRC_PROCMEM | QVMI_SRC_SHM)))
		err = find_hvas(a);
	if (!err && pid && (a->allow & QVMI_SRC_PROCMEM))
		err = add_procmem(a);
	if (!err && pid && (a->allow & QVMI_SRC_SHM))
		err = add_shm(a);
	return err;
}

/* Every RAM range must be readable by some allowed source. */
static int check_coverage(struct attach *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		const struct qvmi_seg *s;

		if (!a->r[i].ram)
			continue;
		s = qvmi__seg_find(a->ctx, a->r[i].gpa);
		if (!s)
			return qvmi__err(
				a->ctx, -EOPNOTSUPP,
				"attach: no allowed source can read RAM at "
				"0x%" PRIx64 " (%s)",
				a->r[i].gpa, a->r[i].name);
	}
	for (i = 0; i < a->ctx->nsegs; i++) {
		const struct qvmi_seg *s = &a->ctx->segs[i];

		qvmi__log(a->ctx, QVMI_LOG_INFO,
			  "attach: [0x%" PRIx64 "-0x%" PRIx64 "] %s", s->start,
			  s->last, qvmi_source_name(s->src));
	}
	return 0;
}

static int attach_opts(struct qvmi_ctx *ctx,
		       const struct qvmi_attach_opts *opts, unsigned int *allow,
		       int *timeout_ms)
{
	if (!QVMI_OPTS_VALID(opts, struct qvmi_attach_opts))
		return qvmi__err(ctx, -EINVAL,
				 "attach: unknown non-zero option fields");
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
	if (stat(z->path, &st) || st.st_dev != z->dev || st.st_ino != z->ino ||
	    st.st_ctim.tv_sec != z->ctime_s ||
	    st.st_ctim.tv_nsec != z->ctime_ns)
		return qvmi__err(ctx, -ESTALE,
				 "QMP: %s is not the socket attached to "
				 "(QEMU restarted?)",
				 z->path);
	qvmi__log(ctx, QVMI_LOG_INFO, "attach: connecting to QMP on first use");
	err = qvmi_qmp_open(ctx, z->path, z->timeout_ms, &q);
	if (err)
		return err;
	if (ctx->qemu_version &&
	    strcmp(qvmi_qmp_version(q), ctx->qemu_version)) {
		qvmi_qmp_close(q);
		return qvmi__err(ctx, -ESTALE, "QMP: QEMU %s, attached to %s",
				 qvmi_qmp_version(q), ctx->qemu_version);
	}
	ctx->qmp = q;
	ctx->qmp_close = qvmi_qmp_close;
	free(ctx->qmp_lazy);
	ctx->qmp_lazy = NULL;
	return qvmi__ctl_qmp_bind(ctx);
}

/* Identity and control of a cached attach, QMP deferred. */
static int cached_identity(struct qvmi_ctx *ctx, const struct qvmi_layout *c,
			   int timeout_ms)
{
	struct qvmi_qmp_lazy *z = calloc(1, sizeof(*z));

	if (!z)
		return -ENOMEM;
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

/* Attach from the layout cache (layout-cache.c says what is checked).
 * Any failure leaves ctx as it was, the reason logged. */
static int attach_cached(struct qvmi_ctx *ctx, const struct qvmi_layout *l,
			 int timeout_ms)
{
	struct qvmi_layout *c = malloc(sizeof(*c));
	char why[320] = "out of memory";
	int err = c ? qvmi__layout_load(l, c, why, sizeof(why)) : -ENOMEM;

	if (!err)
		err = qvmi__layout_apply(ctx, c, why, sizeof(why));
	if (!err && (err = cached_identity(ctx, c, timeout_ms)))
		snprintf(why, sizeof(why), "%s", strerror(-err));
	if (err) {
		qvmi__log(ctx, QVMI_LOG_INFO,
			  "attach: layout cache not used: %s", why);
		qvmi__detach(ctx);
	} else {
		qvmi__log(ctx, QVMI_LOG_INFO,
			  "attach: QEMU %s pid %d, %zu ranges from the layout "
			  "cache; QMP on first use",
			  c->version, c->pid, c->n);
	}
	free(c);
	qvmi__clear_err(ctx);
	return err;
}

/* After a full attach: keep what it learned for the next one. */
static void save_layout(struct attach *a, struct qvmi_layout *l)
{
	struct qvmi_ctx *ctx = a->ctx;
	char why[128] = "";
	uint64_t h;
	int err = 0;

	if (!a->maps_known || a->n > QVMI_LAYOUT_MAX_RANGES ||
	    strlen(ctx->qemu_version) >= sizeof(l->version))
		return;
	l->n = a->n;
	for (size_t i = 0; i < a->n; i++)
		l->r[i] = (struct qvmi_layout_range){ .gpa = a->r[i].gpa,
						      .size = a->r[i].size,
						      .ram = a->r[i].ram };
	if (!qvmi__layout_fill_sources(ctx, l, why, sizeof(why))) {
		qvmi__log(ctx, QVMI_LOG_INFO, "attach: layout not cached: %s",
			  why);
		return;
	}
	l->pid = ctx->qemu_pid;
	strcpy(l->version, ctx->qemu_version);
	/* Mappings that changed while QMP was asked: a hot-plug raced us. */
	err = qvmi__layout_maps_hash(l->pid, &h);
	if (!err && h != a->maps_hash)
		err = -ESTALE;
	if (!err)
		err = qvmi__layout_start_time(l->pid, &l->start_time);
	l->maps_hash = h;
	if (!err)
		err = qvmi__layout_save(l);
	qvmi__log(ctx, QVMI_LOG_INFO, "attach: layout %s%s",
		  err ? "not cached: " : "cached", err ? strerror(-err) : "");
}

QVMI_API int qvmi_attach_qmp(struct qvmi_ctx *ctx, const char *qmp_path,
			     const struct qvmi_attach_opts *opts)
{
	return qvmi__attach_qmp_ex(ctx, qmp_path, -1, 0, opts);
}

int qvmi__attach_qmp_ex(struct qvmi_ctx *ctx, const char *qmp_path, int fd,
			int qemu_pid, const struct qvmi_attach_opts *opts)
{
	struct hmp_out mtree = { 0 };
	struct attach a = { .ctx = ctx, .pid = qemu_pid };
	struct qvmi_layout *l = NULL;
	int timeout_ms = 0, err;

	if (!ctx || (fd >= 0) == !!qmp_path) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	qvmi__clear_err(ctx);
	err = attach_opts(ctx, opts, &a.allow, &timeout_ms);
	if (!err && (ctx->qmp || ctx->ctl || ctx->sources))
		err = qvmi__err(ctx, -EBUSY, "attach: context already in use");
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	/* The socket's identity is taken before connecting: a QEMU that
	 * restarts in between leaves a cache that never matches.  No cache
	 * for an inherited connection or a given pid: nothing names them. */
	if (qmp_path && qemu_pid <= 0 && qvmi__layout_enabled() &&
	    (l = calloc(1, sizeof(*l))) && !qvmi__layout_sock_id(qmp_path, l)) {
		l->allow = a.allow;
		if (!attach_cached(ctx, l, timeout_ms)) {
			free(l);
			return 0;
		}
	} else {
		free(l);
		l = NULL;
	}
	err = qmp_path ? qvmi_qmp_open(ctx, qmp_path, timeout_ms, &a.q) :
			 qvmi_qmp_open_fd(ctx, fd, timeout_ms ?: 5000, &a.q);
	if (err) {
		free(l);
		return err;
	}
	ctx->qmp = a.q;
	ctx->qmp_close = qvmi_qmp_close;
	err = read_identity(&a);
	if (!err && l && ctx->qemu_pid > 0)
		a.maps_known =
			!qvmi__layout_maps_hash(ctx->qemu_pid, &a.maps_hash);
	/* The memory tree is asked for first and read after query-status
	 * (ctl install): one round trip for both. */
	if (!err)
		err = send_hmp(&a, "info mtree -f", &mtree);
	if (!err)
		err = qvmi__ctl_qmp_install(ctx, a.q);
	if (!err)
		err = read_layout(&a, &mtree);
	if (!err)
		err = add_ram(&a);
	if (!err)
		err = add_sources(&a);
	if (!err)
		err = check_coverage(&a);
	if (!err && l)
		save_layout(&a, l);
	free(l);
	/* The state was read when the control backend was installed, and
	 * STOP/RESUME events keep it current from there. */
	free(a.r);
	free(mtree.text);
	if (err)
		qvmi__detach(ctx);
	else /* sources that did not apply left their reasons behind */
		qvmi__clear_err(ctx);
	return err;
}
