// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Keeping a QMP attach's memory map current.  QEMU's flat view changes
 * without any mapping of its own moving: on "pc" and "q35" the firmware
 * shadows 0xc0000-0xfffff (PAM) early in its run, so a map read at -S
 * (or right after a reset) serves the BIOS ROM where the guest then sees
 * RAM (QEMU 7.2 + SeaBIOS: 18 pages differ, the SMBIOS entry point is
 * missing).  Memory hot-plug adds or removes ranges.  So the layout is
 * re-read (one QMP round trip, "info mtree -f"; gpa2hva only for a new
 * region) before the next memory access after:
 *   - RESET (and, while the firmware may still move ranges, again at most
 *     every 100 ms of accesses for SETTLE_MS after the event),
 *   - the first RESUME of a layout read at -S (likewise settling),
 *   - DEVICE_ADDED / DEVICE_DELETED / MEMORY_DEVICE_SIZE_CHANGE,
 *   - qvmi__layout_mark_stale (qvmid: a new pmemaccess server).
 * Events are taken in by any QMP call, and by a poll of the socket on
 * every 16th memory access at most every POLL_MS (qvmi__layout_check).  A changed layout is resolved and
 * built again by the same code as an attach (layout.c), and saved in the
 * layout cache once settled.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "layout-cache.h"
#include "layout.h"
#include "proto/qmp.h"

enum {
	POLL_MS = 20,
	SETTLE_MS = 3000, /* SeaBIOS shadows the BIOS area in its first
			   * ~100 ms of POST; TCG on a loaded host is slower */
	RECHECK_MS = 100,
};

struct qvmi_lay {
	unsigned int allow;
	bool cache; /* l.sock names the socket: save refreshed layouts */
	bool await_run; /* read at -S: the first RESUME makes it stale */
	bool hooked; /* our event callback is on ctx->qmp */
	bool busy; /* inside a refresh */
	int64_t next_poll, settle_until, last_read; /* monotonic ns */
	qvmi_qmp_event_fn prev_fn; /* chained */
	void *prev_arg;
	struct qvmi_layout l; /* last: its unused ranges stay untouched */
};

static void lay_free(struct qvmi_ctx *ctx);

static void lay_event_cb(const char *event, struct json_object *ev, void *arg)
{
	struct qvmi_ctx *ctx = arg;
	struct qvmi_lay *lay = ctx->lay;

	if (lay) {
		qvmi__layout_event(ctx, event, ev);
		if (lay->prev_fn)
			lay->prev_fn(event, ev, lay->prev_arg);
	}
}

void qvmi__lay_watch(struct qvmi_ctx *ctx)
{
	struct qvmi_lay *lay = ctx->lay;

	if (!lay || lay->hooked || !ctx->qmp)
		return;
	qvmi__qmp_get_event_cb(ctx->qmp, &lay->prev_fn, &lay->prev_arg);
	qvmi__qmp_set_event_cb(ctx->qmp, lay_event_cb, ctx);
	lay->hooked = true;
}

int qvmi__lay_set(struct qvmi_ctx *ctx, const struct qvmi_layout *l,
		  unsigned int allow, bool cache)
{
	struct qvmi_lay *lay = ctx->lay;

	if (!lay) {
		lay = malloc(sizeof(*lay));
		if (lay) /* all but l's ranges (layout.h) */
			memset(lay, 0,
			       offsetof(struct qvmi_lay, l) +
				       offsetof(struct qvmi_layout, r));
		if (!lay)
			return qvmi__err(ctx, -ENOMEM, "out of memory");
		ctx->lay = lay;
		ctx->lay_poll = qvmi__layout_poll;
		ctx->lay_free = lay_free;
	}
	qvmi__layout_copy(&lay->l, l);
	lay->allow = allow;
	lay->cache = cache;
	/* The event callback goes on before the control backend's (which
	 * chains to it), so that both see every event. */
	qvmi__lay_watch(ctx);
	return 0;
}

static void lay_free(struct qvmi_ctx *ctx)
{
	/* ctx->qmp is closed by now (qvmi__detach): nothing to unhook */
	free(ctx->lay);
	ctx->lay = NULL;
	ctx->lay_stale = false;
	ctx->lay_poll = NULL;
	ctx->lay_free = NULL;
}

void qvmi__lay_prelaunch(struct qvmi_ctx *ctx)
{
	if (ctx->lay)
		ctx->lay->await_run = true;
}

void qvmi__lay_save(struct qvmi_ctx *ctx, uint64_t pre_hash)
{
	struct qvmi_lay *lay = ctx->lay;
	char why[160] = "";
	uint64_t h = 0;
	int err = -EAGAIN;

	if (!lay || !lay->cache)
		return;
	if (lay->await_run || ctx->vm_prelaunch) {
		snprintf(why, sizeof(why), "QEMU has not run yet (-S)");
	} else if ((int64_t)qvmi__mono_ns() < lay->settle_until) {
		snprintf(why, sizeof(why),
			 "the firmware may still move ranges");
	} else if (qvmi__layout_cacheable(&lay->l, why, sizeof(why))) {
		err = qvmi__layout_witness(lay->l.pid, &h);
		if (!err && h != pre_hash)
			err = -ESTALE;
		if (!err)
			err = qvmi__layout_start_time(lay->l.pid,
						      &lay->l.start_time);
		if (!err && strlen(ctx->qemu_version) >= sizeof(lay->l.version))
			err = -ENAMETOOLONG;
		if (!err) {
			strcpy(lay->l.version, ctx->qemu_version);
			err = qvmi__layout_save(&lay->l, ctx->cache_dir);
		}
		snprintf(why, sizeof(why), "%s", strerror(-err));
	}
	qvmi__log(ctx, QVMI_LOG_INFO, "attach: layout %s%s",
		  err ? "not cached: " : "cached", err ? why : "");
}

void qvmi__layout_mark_stale(struct qvmi_ctx *ctx, int settle_ms)
{
	struct qvmi_lay *lay = ctx->lay;
	int64_t until;

	if (!lay)
		return;
	ctx->lay_stale = true;
	until = (int64_t)qvmi__mono_ns() + (int64_t)settle_ms * 1000000;
	if (settle_ms > 0 && until > lay->settle_until)
		lay->settle_until = until;
}

/* How long ago QEMU sent ev (its "timestamp", wall clock), in ms; 0 if
 * it does not say. */
static int64_t event_age_ms(struct json_object *ev)
{
	struct json_object *ts, *s, *us;
	struct timespec wall;
	int64_t then, now;

	if (!json_object_object_get_ex(ev, "timestamp", &ts) ||
	    !json_object_object_get_ex(ts, "seconds", &s) ||
	    !json_object_object_get_ex(ts, "microseconds", &us))
		return 0;
	then = json_object_get_int64(s) * 1000 +
	       json_object_get_int64(us) / 1000;
	clock_gettime(CLOCK_REALTIME, &wall); /* QEMU's clock is the wall */
	now = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
	return now > then ? now - then : 0;
}

static void settle_after(struct qvmi_ctx *ctx, struct json_object *ev)
{
	int64_t left = SETTLE_MS - event_age_ms(ev);

	qvmi__layout_mark_stale(ctx, left > 0 ? (int)left : 0);
}

void qvmi__layout_event(struct qvmi_ctx *ctx, const char *event,
			struct json_object *ev)
{
	struct qvmi_lay *lay = ctx->lay;

	if (!lay)
		return;
	if (!strcmp(event, "RESET")) {
		settle_after(ctx, ev);
	} else if (!strcmp(event, "RESUME") && lay->await_run) {
		lay->await_run = false;
		settle_after(ctx, ev);
	} else if (!strcmp(event, "DEVICE_ADDED") ||
		   !strcmp(event, "DEVICE_DELETED") ||
		   !strcmp(event, "MEMORY_DEVICE_SIZE_CHANGE")) {
		qvmi__layout_mark_stale(ctx, 0);
	}
}

/* Rebuild ctx's sources from l (resolved): 0, or the build's error. */
static int rebuild(struct qvmi_ctx *ctx, struct qvmi_layout *l)
{
	struct qvmi_lay *lay = ctx->lay;
	int err = qvmi__layout_unbuild(ctx);

	if (err)
		return qvmi__err(ctx, err,
				 "layout: sources not from the attach: the map "
				 "is not refreshed");
	err = qvmi__layout_build(ctx, l, ctx->qmp, lay->allow);
	qvmi__layout_copy(&lay->l, l);
	return err;
}

int qvmi__layout_refresh(struct qvmi_ctx *ctx)
{
	struct qvmi_lay *lay = ctx->lay;
	struct qvmi_layout *l;
	uint64_t pre = 0;
	int err;

	if (!lay || lay->busy)
		return 0;
	err = qvmi__qmp_need(ctx);
	if (err)
		return err;
	l = qvmi__layout_new();
	if (!l)
		return qvmi__err(ctx, -ENOMEM, "out of memory");
	lay->busy = true;
	ctx->lay_stale = false;
	lay->last_read = qvmi__mono_coarse_ns();
	memcpy(l->sock, lay->l.sock, sizeof(l->sock));
	l->sock_dev = lay->l.sock_dev;
	l->sock_ino = lay->l.sock_ino;
	l->sock_ctime_s = lay->l.sock_ctime_s;
	l->sock_ctime_ns = lay->l.sock_ctime_ns;
	l->pid = lay->l.pid;
	l->allow = lay->l.allow;
	if (l->pid > 0 && qvmi__layout_witness(l->pid, &pre))
		pre = 0;
	err = qvmi__layout_discover(ctx, ctx->qmp, l, &lay->l);
	if (!err && !qvmi__layout_same_view(l, &lay->l)) {
		char why[160] = "";

		if (l->pid > 0 && qvmi__layout_resolve(l, why, sizeof(why)))
			qvmi__log(ctx, QVMI_LOG_WARN, "layout: %s", why);
		qvmi__log(ctx, QVMI_LOG_INFO,
			  "layout: QEMU's memory map changed (%zu -> %zu "
			  "ranges): rebuilt",
			  lay->l.n, l->n);
		err = rebuild(ctx, l);
		if (!err)
			qvmi__lay_save(ctx, pre);
	}
	lay->busy = false;
	free(l);
	return err;
}

/* Events pending on the socket, without losing the ctx's last error
 * (this runs before reads that report their own). */
static void take_events(struct qvmi_ctx *ctx)
{
	char msg[QVMI_ERRMSG_MAX];
	uint64_t fault = ctx->fault_addr;
	int saved = ctx->err;

	memcpy(msg, ctx->errmsg, sizeof(msg));
	if (qvmi__qmp_poll(ctx->qmp, 0) == -EPIPE)
		qvmi__vm_state_changed(ctx, QVMI_VM_SHUTDOWN);
	ctx->err = saved;
	ctx->fault_addr = fault;
	memcpy(ctx->errmsg, msg, sizeof(msg));
}

void qvmi__layout_poll(struct qvmi_ctx *ctx)
{
	struct qvmi_lay *lay = ctx->lay;
	int64_t now = qvmi__mono_coarse_ns();
	char msg[QVMI_ERRMSG_MAX];
	int saved;

	if (lay->busy || (!ctx->lay_stale && now < lay->next_poll))
		return;
	/* No QMP connection yet (a ctx attached from the layout cache): no
	 * events to take; a stale map still connects and re-reads below. */
	if (now >= lay->next_poll && ctx->qmp) {
		lay->next_poll = now + POLL_MS * 1000000ll;
		take_events(ctx);
	}
	if (!ctx->lay_stale && (now >= lay->settle_until ||
				now - lay->last_read < RECHECK_MS * 1000000ll))
		return;
	saved = ctx->err;
	memcpy(msg, ctx->errmsg, sizeof(msg));
	if (qvmi__layout_refresh(ctx))
		qvmi__log(ctx, QVMI_LOG_WARN, "layout: refresh failed: %s",
			  qvmi_errmsg(ctx));
	ctx->err = saved;
	memcpy(ctx->errmsg, msg, sizeof(msg));
}
