// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VM control over QMP: vCPU count (query-cpus-fast), registers (HMP "info
 * registers"), stop/cont, query-status, and the STOP/RESUME/SHUTDOWN/RESET
 * events, which keep ctx->vm_state current (and so decide whether the page
 * cache may serve slow-source pages).
 *
 * Registers: QEMU 7.2 takes a vCPU index, "info registers N" (1.2 ms on a
 * 2-vCPU TCG guest, independent of the vCPU count), while "-a" prints every
 * vCPU (1.3-5.8 ms with 2 vCPUs, and it grows with each one).  Older QEMUs
 * without the index answer with an error text; then we fall back to "-a"
 * and pick the block.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "proto/hmp.h"
#include "proto/qmp.h"

struct ctl_qmp {
	struct qvmi_qmp *q; /* NULL until connected (lazy backend) */
	struct qvmi_ctx *ctx;
	int ncpus; /* 0 until known */
	bool regs_all; /* "info registers N" unsupported: use "-a" */
	qvmi_qmp_event_fn prev_fn; /* a callback installed before us */
	void *prev_arg;
};

static struct ctl_qmp *cq_of(struct qvmi_ctl *c)
{
	return c->priv;
}

/* A lazy backend connects on its first operation (attach.c). */
static int cq_connect(struct qvmi_ctl *c)
{
	return cq_of(c)->q ? 0 : qvmi__qmp_need(c->ctx);
}

static void cq_event(const char *event, struct json_object *ev, void *arg)
{
	struct ctl_qmp *cq = arg;

	if (!strcmp(event, "STOP"))
		qvmi__vm_state_changed(cq->ctx, QVMI_VM_PAUSED);
	else if (!strcmp(event, "RESUME"))
		qvmi__vm_state_changed(cq->ctx, QVMI_VM_RUNNING);
	else if (!strcmp(event, "SHUTDOWN"))
		qvmi__vm_state_changed(cq->ctx, QVMI_VM_SHUTDOWN);
	else if (!strcmp(event, "RESET"))
		/* A reset rewrites memory (firmware reload) even while the
		 * VM stays paused: nothing cached survives it. */
		qvmi_cache_flush(cq->ctx);
	if (cq->prev_fn)
		cq->prev_fn(event, ev, cq->prev_arg);
}

static int cq_vcpu_count(struct qvmi_ctl *c)
{
	struct ctl_qmp *cq = cq_of(c);
	struct json_object *r = NULL;
	size_t n;
	int err;

	if (cq->ncpus > 0)
		return cq->ncpus;
	err = cq_connect(c);
	if (err < 0)
		return err;
	err = qvmi__qmp_execute(cq->q, "query-cpus-fast", NULL, &r);
	if (err < 0)
		return err;
	if (!json_object_is_type(r, json_type_array)) {
		json_object_put(r);
		return qvmi__err(c->ctx, -EPROTO,
				 "query-cpus-fast: not an array");
	}
	n = json_object_array_length(r);
	json_object_put(r);
	if (n == 0 || n > 4096)
		return qvmi__err(c->ctx, -EPROTO, "query-cpus-fast: %zu vCPUs?",
				 n);
	cq->ncpus = (int)n;
	return cq->ncpus;
}

static int cq_regs_text(struct ctl_qmp *cq, unsigned int vcpu,
			struct qvmi_regs_x86 *ret, const char *cmd)
{
	char *out = NULL;
	int err;

	err = qvmi__qmp_hmp(cq->q, cmd, &out);
	if (err < 0)
		return err;
	err = qvmi__hmp_parse_registers_cpu(out, vcpu, ret);
	/* QEMU 7.2 monitor/hmp-cmds-target: "CPU#%d not available" */
	if (err < 0 && strstr(out, "not available"))
		err = -ENOENT;
	free(out);
	return err;
}

static int cq_get_regs(struct qvmi_ctl *c, unsigned int vcpu,
		       struct qvmi_regs_x86 *ret)
{
	struct ctl_qmp *cq = cq_of(c);
	char cmd[48];
	int err = cq_connect(c);

	if (err < 0)
		return err;
	err = -EBADMSG;
	if (!cq->regs_all) {
		snprintf(cmd, sizeof(cmd), "info registers %u", vcpu);
		err = cq_regs_text(cq, vcpu, ret, cmd);
		if (err == -EBADMSG) /* no vCPU argument in this QEMU? */
			cq->regs_all = true;
	}
	if (cq->regs_all)
		err = cq_regs_text(cq, vcpu, ret, "info registers -a");
	if (err == -ENOENT)
		return qvmi__err(c->ctx, -ENOENT, "registers: no vCPU %u",
				 vcpu);
	if (err == -EBADMSG)
		return qvmi__err(c->ctx, -EPROTO,
				 "registers: cannot parse info registers");
	return err;
}

/* Segment limits, flags, LDT and TR: in no QMP command, but in the same
 * "info registers" text as the rest. */
static int cq_get_segs(struct qvmi_ctl *c, unsigned int vcpu,
		       struct qvmi__segs *ret)
{
	struct ctl_qmp *cq = cq_of(c);
	char cmd[48], *out = NULL;
	int err = cq_connect(c);

	if (err < 0)
		return err;
	if (cq->regs_all)
		snprintf(cmd, sizeof(cmd), "info registers -a");
	else
		snprintf(cmd, sizeof(cmd), "info registers %u", vcpu);
	err = qvmi__qmp_hmp(cq->q, cmd, &out);
	if (err < 0)
		return err;
	err = qvmi__hmp_parse_segs_cpu(out, vcpu, ret);
	free(out);
	return err ? qvmi__err(c->ctx, err,
			       "registers: no segment lines for vCPU %u",
			       vcpu) :
		     0;
}

static int cq_pause(struct qvmi_ctl *c)
{
	int err = cq_connect(c);

	if (!err)
		err = qvmi__qmp_execute(cq_of(c)->q, "stop", NULL, NULL);

	/* The STOP event precedes the reply, but "stop" on a stopped VM
	 * sends none: record the state ourselves too. */
	if (!err)
		qvmi__vm_state_changed(c->ctx, QVMI_VM_PAUSED);
	return err;
}

static int cq_resume(struct qvmi_ctl *c)
{
	int err = cq_connect(c);

	if (!err)
		err = qvmi__qmp_execute(cq_of(c)->q, "cont", NULL, NULL);

	if (!err)
		qvmi__vm_state_changed(c->ctx, QVMI_VM_RUNNING);
	return err;
}

/*
 * QEMU RunState names (qapi/run-state.json, 7.2).  Anything not running
 * whose memory stays put counts as paused: "debug" (gdbstub stop),
 * "prelaunch" (-S), "guest-panicked", "io-error", "watchdog", migration
 * states.  Only "shutdown" (with -no-shutdown) means shut down.
 */
static enum qvmi_vm_state map_status(const char *s, bool running)
{
	if (running)
		return QVMI_VM_RUNNING;
	if (!strcmp(s, "shutdown"))
		return QVMI_VM_SHUTDOWN;
	return QVMI_VM_PAUSED;
}

static int cq_state(struct qvmi_ctl *c, enum qvmi_vm_state *ret)
{
	struct json_object *r = NULL, *st, *run;
	int err = cq_connect(c);

	if (err < 0)
		return err;
	err = qvmi__qmp_execute(cq_of(c)->q, "query-status", NULL, &r);
	if (err == -EPIPE) { /* QEMU is gone: that is a state too */
		qvmi__vm_state_changed(c->ctx, QVMI_VM_SHUTDOWN);
		*ret = QVMI_VM_SHUTDOWN;
		return 0;
	}
	if (err < 0)
		return err;
	if (!json_object_object_get_ex(r, "status", &st) ||
	    !json_object_is_type(st, json_type_string) ||
	    !json_object_object_get_ex(r, "running", &run) ||
	    !json_object_is_type(run, json_type_boolean)) {
		json_object_put(r);
		return qvmi__err(c->ctx, -EPROTO, "query-status: bad reply");
	}
	*ret = map_status(json_object_get_string(st),
			  json_object_get_boolean(run));
	/* -S: the firmware has not run, the memory map will still change
	 * (layout-live.c) */
	c->ctx->vm_prelaunch = !strcmp(json_object_get_string(st), "prelaunch");
	json_object_put(r);
	qvmi__vm_state_changed(c->ctx, *ret);
	return 0;
}

/* Runs before every cacheable slow read: it must not clobber the ctx's
 * last error with a failure of its own (a dead QMP is reported by the
 * operations that need it). */
static void cq_poll(struct qvmi_ctl *c)
{
	struct qvmi_ctx *ctx = c->ctx;
	char msg[QVMI_ERRMSG_MAX];
	uint64_t fault = ctx->fault_addr;
	int saved = ctx->err, err;

	if (!cq_of(c)->q) /* not connected: no events to take in */
		return;
	/* No events come through libvirt's monitor API (the qmp-xport
	 * transport): a resume by another client would go unseen, so
	 * between commands the state is unknown (no cached slow reads). */
	if (qvmi__qmp_xport_name(cq_of(c)->q)) {
		ctx->vm_state = QVMI_VM_UNKNOWN;
		return;
	}
	memcpy(msg, ctx->errmsg, sizeof(msg));
	err = qvmi__qmp_poll(cq_of(c)->q, 0);
	if (err >= 0)
		return;
	if (err == -EPIPE)
		qvmi__vm_state_changed(ctx, QVMI_VM_SHUTDOWN);
	ctx->err = saved;
	ctx->fault_addr = fault;
	memcpy(ctx->errmsg, msg, sizeof(msg));
}

static void cq_destroy(struct qvmi_ctl *c)
{
	struct ctl_qmp *cq = cq_of(c);

	/* The connection outlives us (ctx->qmp is closed last). */
	if (cq->q)
		qvmi__qmp_set_event_cb(cq->q, cq->prev_fn, cq->prev_arg);
	free(cq);
}

static const struct qvmi_ctl_ops ctl_qmp_ops = {
	.name = "qmp",
	.vcpu_count = cq_vcpu_count,
	.get_regs = cq_get_regs,
	.get_segs = cq_get_segs,
	.pause = cq_pause,
	.resume = cq_resume,
	.state = cq_state,
	.poll = cq_poll,
	.destroy = cq_destroy,
};

/* Start using q: its events, and QEMU's own view of the state. */
static int cq_bind(struct qvmi_ctl *c, struct qvmi_qmp *q)
{
	struct ctl_qmp *cq = cq_of(c);
	enum qvmi_vm_state st;

	cq->q = q;
	qvmi__qmp_get_event_cb(q, &cq->prev_fn, &cq->prev_arg);
	qvmi__qmp_set_event_cb(q, cq_event, cq);
	return cq_state(c, &st);
}

int qvmi__ctl_qmp_bind(struct qvmi_ctx *ctx)
{
	if (!ctx->ctl || ctx->ctl->ops != &ctl_qmp_ops || cq_of(ctx->ctl)->q ||
	    !ctx->qmp)
		return 0;
	return cq_bind(ctx->ctl, ctx->qmp);
}

int qvmi__ctl_qmp_install(struct qvmi_ctx *ctx, struct qvmi_qmp *q)
{
	struct ctl_qmp *cq = calloc(1, sizeof(*cq));
	int err;

	if (!cq)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	cq->ctx = ctx;
	err = qvmi__ctl_set(ctx, &ctl_qmp_ops, cq);
	if (err < 0) {
		free(cq);
		return err;
	}
	/* Start from QEMU's own view; events keep it current from here. */
	return q ? cq_bind(ctx->ctl, q) : 0;
}
