// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What an authenticated session can ask (docs/PROTOCOL.md "Commands"), the
 * operator's policy, and the VM info block, all over the borrowed libqvmi
 * ctx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "attach/qvmid.h"
#include "proto/gdb.h"
#include "session-int.h"
#include "vmident.h"

/* ---- policy ---------------------------------------------------------------- */

void qvmid_session_policy_init(struct qvmid_session_policy *p)
{
	memset(p, 0, sizeof(*p));
	/* They change the guest: the operator opts in. */
	p->deny[QVMI_SES_WRITE_PA] = true;
	p->deny[QVMI_SES_SET_REGS] = true;
}

static void policy_all(struct qvmid_session_policy *p, bool allow, bool event)
{
	for (unsigned int m = 0; m < 256; m++)
		if (qvmi__ses_policy_name((uint16_t)m) && (m >= 0x80) == event)
			p->deny[m] = !allow;
}

int qvmid_session_policy_apply(struct qvmid_session_policy *p, const char *list,
			       bool allow, bool event, const char **bad)
{
	char *copy = strdup(list), *save = NULL;
	int err = 0;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t && !err;
	     t = strtok_r(NULL, ",", &save)) {
		uint16_t msgs[4];
		int n;

		if (!strcmp(t, "all")) {
			policy_all(p, allow, event);
			continue;
		}
		n = qvmi__ses_policy_msgs(t, event, msgs);
		if (n < 0) {
			if (bad) /* points into list, not our copy */
				*bad = list + (t - copy);
			err = n;
		}
		for (int i = 0; i < n; i++)
			p->deny[msgs[i]] = !allow;
	}
	free(copy);
	return err;
}

static bool cmd_allowed(const struct qvmid_session_server *s, uint16_t msg)
{
	/* Subject to the policy: commands with a policy name. */
	if (msg >= 0x80)
		return false;
	if (!qvmi__ses_policy_name(msg))
		return qvmi__ses_msg_name(msg) && msg >= QVMI_SES_VERSION_CMD;
	return !s->o.policy.deny[msg];
}

/* ---- VM info ---------------------------------------------------------------- */

/* RAM ranges as the VM describes them, else the mapped ranges. */
static void info_ram(struct qvmi_ctx *ctx, struct qvmi_ses_info *ret)
{
	size_t n = qvmi_ram_count(ctx);

	ret->nram = 0;
	for (size_t i = 0; i < n && ret->nram < QVMI_SES_RAM_MAX; i++)
		if (!qvmi_ram_get(ctx, i, &ret->ram[ret->nram]) &&
		    ret->ram[ret->nram].size)
			ret->nram++;
	if (ret->nram)
		return;
	n = qvmi_map_count(ctx);
	for (size_t i = 0; i < n && ret->nram < QVMI_SES_RAM_MAX; i++) {
		struct qvmi_map_entry e;

		if (!qvmi_map_get(ctx, i, &e) && e.size)
			ret->ram[ret->nram++] =
				(struct qvmi_ram_range){ e.gpa, e.size };
	}
}

static uint64_t features(struct qvmid_session_server *s, bool mem)
{
	unsigned int caps = qvmi__ctx_ctl_caps(s->ctx);
	uint64_t f = 0;

	if (mem && cmd_allowed(s, QVMI_SES_READ_PA))
		f |= QVMI_SES_FEAT_READ;
	if (mem && cmd_allowed(s, QVMI_SES_WRITE_PA))
		f |= QVMI_SES_FEAT_WRITE;
	if (mem && cmd_allowed(s, QVMI_SES_TRANSLATE))
		f |= QVMI_SES_FEAT_TRANSLATE;
	if ((caps & QVMI_CTL_CAN_REGS) && cmd_allowed(s, QVMI_SES_GET_REGS))
		f |= QVMI_SES_FEAT_REGS;
	if ((caps & QVMI_CTL_CAN_PAUSE) && cmd_allowed(s, QVMI_SES_PAUSE) &&
	    cmd_allowed(s, QVMI_SES_RESUME))
		f |= QVMI_SES_FEAT_PAUSE;
	if (s->gdb && cmd_allowed(s, QVMI_SES_BP_SET))
		f |= QVMI_SES_FEAT_BREAKPOINT;
	if (s->gdb && cmd_allowed(s, QVMI_SES_SET_REGS))
		f |= QVMI_SES_FEAT_SET_REGS;
	/* Events are served:
	 * offered when the policy lets at least one through. */
	for (unsigned int m = 0x80; m < 0x100; m++)
		if (qvmi__ses_policy_name((uint16_t)m) && !s->o.policy.deny[m])
			f |= QVMI_SES_FEAT_EVENTS;
	return f;
}

void qvmid_ses_vm_info(struct qvmid_session_server *s,
		       struct qvmi_ses_info *ret)
{
	struct qvmi_vm_info vi;
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;

	memset(ret, 0, offsetof(struct qvmi_ses_info, ram));
	ret->max_transfer = s->o.max_transfer;
	if (!qvmi_vm_info(s->ctx, &vi)) {
		ret->arch = !strcmp(vi.arch, "x86_64") ? 1 :
			    !strcmp(vi.arch, "i386")   ? 2 :
							 0;
		ret->vcpus = vi.vcpus;
		snprintf(ret->name, sizeof(ret->name), "%s", vi.name);
		qvmid_uuid_bytes(vi.uuid, ret->uuid);
		ret->start_time_ns = qvmid_process_start_ns(vi.pid);
	}
	if (!qvmi_vm_state(s->ctx, &st))
		ret->state = st;
	info_ram(s->ctx, ret);
	ret->features = features(s, qvmi_map_count(s->ctx) > 0);
}

/* ---- commands ---------------------------------------------------------------- */

static void reply_err(struct qvmid_session_server *s,
		      const struct qvmi_ses_hdr *h, int err)
{
	qvmid_ses_send(s, QVMI_SES_F_REPLY, h->msg, h->seq,
		       (uint32_t)(err < 0 ? -err : EIO), NULL, 0);
}

static void reply(struct qvmid_session_server *s, const struct qvmi_ses_hdr *h,
		  const void *p, size_t len)
{
	qvmid_ses_send(s, QVMI_SES_F_REPLY, h->msg, h->seq, 0, p, len);
}

static void cmd_read(struct qvmid_session_server *s,
		     const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	uint64_t gpa = qvmi__ses_get64(p);
	uint32_t len = qvmi__ses_get32(p + 8);
	uint8_t *out;
	int err;

	if (len > s->o.max_transfer) {
		reply_err(s, h, -E2BIG);
		return;
	}
	out = qvmid_ses_reserve(s, len);
	if (!out) {
		reply_err(s, h, -ENOMEM);
		return;
	}
	err = qvmi_read_pa(s->ctx, gpa, out, len);
	if (err < 0)
		reply_err(s, h, err);
	else
		qvmid_ses_commit(s, h->msg, h->seq, len);
}

static void cmd_write(struct qvmid_session_server *s,
		      const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	uint32_t len = qvmi__ses_get32(p + 8);
	int err;

	if (len > s->o.max_transfer) {
		reply_err(s, h, -E2BIG);
		return;
	}
	err = qvmi_write_pa(s->ctx, qvmi__ses_get64(p), p + 16, len);
	if (err < 0)
		reply_err(s, h, err);
	else
		reply(s, h, NULL, 0);
}

static void cmd_translate(struct qvmid_session_server *s,
			  const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	uint64_t dtb = qvmi__ses_get64(p), va = qvmi__ses_get64(p + 8);
	struct qvmi_translation tr;
	uint8_t out[32];
	int err = 0;

	if (qvmi__ses_get32(p + 20) & QVMI_SES_TR_USE_VCPU) {
		struct qvmi_regs_x86 r;

		err = qvmi_get_regs(s->ctx, qvmi__ses_get32(p + 16), &r);
		if (!err && !(r.valid & QVMI_REGS_CR))
			err = -EOPNOTSUPP;
		dtb = r.cr3;
	}
	if (!err)
		err = qvmi_translate_ex(s->ctx, dtb, va, &tr);
	if (err < 0) {
		reply_err(s, h, err);
		return;
	}
	qvmi__ses_put64(out, tr.pa);
	qvmi__ses_put64(out + 8, tr.page_size);
	qvmi__ses_put64(out + 16, tr.leaf);
	qvmi__ses_put32(out + 24, tr.flags);
	qvmi__ses_put32(out + 28, (uint32_t)tr.levels);
	reply(s, h, out, sizeof(out));
}

static void cmd_get_regs(struct qvmid_session_server *s,
			 const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	struct qvmi_regs_x86 r;
	uint8_t out[QVMI_SES_NREGS * 8];
	int err = qvmi_get_regs(s->ctx, qvmi__ses_get32(p), &r);

	if (err < 0) {
		reply_err(s, h, err);
		return;
	}
	qvmi__ses_regs_encode(&r, out);
	reply(s, h, out, sizeof(out));
}

/* What QEMU 7.2's gdbstub can write (its target XML has no GDT/IDT or
 * debug registers). */
enum {
	SETTABLE_REGS = QVMI_REGS_GPR | QVMI_REGS_SEG | QVMI_REGS_BASES |
			QVMI_REGS_KGS | QVMI_REGS_CR | QVMI_REGS_CR8,
};

/* The groups marked in valid, through the gdbstub (g, then G); the VM
 * must be stopped (a PAUSE, or at an event). */
static void cmd_set_regs(struct qvmid_session_server *s,
			 const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	uint32_t vcpu = qvmi__ses_get32(p);
	struct qvmi_regs_x86 r;
	int err;

	qvmi__ses_regs_decode(p + 8, &r);
	if (!s->gdb)
		return reply_err(s, h, -EOPNOTSUPP);
	if (!r.valid || (r.valid & ~(uint64_t)SETTABLE_REGS))
		return reply_err(s, h, -EINVAL);
	if (vcpu >= qvmi__gdb_nvcpus(s->gdb))
		return reply_err(s, h, -ENOENT);
	if (qvmi__gdb_running(s->gdb))
		return reply_err(s, h, -EBUSY); /* pause first */
	err = qvmi_set_regs(s->ctx, vcpu, &r);
	/* CR3 or the code the vCPU runs may have changed */
	qvmi_cache_flush(s->ctx);
	if (err < 0)
		return reply_err(s, h, err);
	reply(s, h, NULL, 0);
}

static void reply_pause(struct qvmid_session_server *s,
			const struct qvmi_ses_hdr *h)
{
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	uint8_t out[8];

	qvmi_vm_state(s->ctx, &st);
	qvmi__ses_put32(out, s->c->pause_count);
	qvmi__ses_put32(out + 4, st);
	reply(s, h, out, sizeof(out));
}

/* Counted: only the first pause and the last resume reach the VM. */
static void cmd_pause(struct qvmid_session_server *s,
		      const struct qvmi_ses_hdr *h)
{
	struct sconn *c = s->c;
	enum qvmi_vm_state st = QVMI_VM_UNKNOWN;
	int err;

	if (c->pause_count >= QVMI_SES_PAUSE_MAX) {
		reply_err(s, h, -EOVERFLOW);
		return;
	}
	if (!c->pause_count) {
		c->was_paused = !qvmi_vm_state(s->ctx, &st) &&
				st == QVMI_VM_PAUSED;
		if (!c->was_paused)
			qvmid_ses_expect_own(s, true);
		err = c->was_paused ? 0 : qvmi_vm_pause(s->ctx);
		if (err < 0) {
			reply_err(s, h, err);
			return;
		}
	}
	c->pause_count++;
	qvmid_ses_ledger_sync(s);
	reply_pause(s, h);
}

static void cmd_resume(struct qvmid_session_server *s,
		       const struct qvmi_ses_hdr *h)
{
	struct sconn *c = s->c;
	int err;

	if (!c->pause_count) {
		reply_err(s, h, -EINVAL);
		return;
	}
	if (c->pause_count == 1 && !c->was_paused) {
		qvmid_ses_expect_own(s, false);
		err = qvmi_vm_resume(s->ctx);
		if (err < 0) {
			reply_err(s, h, err);
			return;
		}
	}
	c->pause_count--;
	qvmid_ses_ledger_sync(s);
	reply_pause(s, h);
}

void qvmid_ses_release_pauses(struct qvmid_session_server *s)
{
	struct sconn *c = s->c;

	if (!c->pause_count)
		return;
	c->pause_count = 0;
	qvmid_ses_ledger_sync(s);
	if (c->was_paused)
		return;
	qvmid_ses_expect_own(s, false);
	if (qvmi_vm_resume(s->ctx) < 0)
		qvmid_ses_log(s, QVMI_LOG_WARN,
			      "session: resume at session end: %s",
			      qvmi_errmsg(s->ctx));
	else
		qvmid_ses_log(s, QVMI_LOG_INFO,
			      "session: ended while pausing the VM: resumed");
}

static void cmd_check(struct qvmid_session_server *s,
		      const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	uint16_t m = qvmi__ses_get16(p);
	uint8_t out[8] = { 0 };
	bool ok;

	if (h->msg == QVMI_SES_CHECK_EVENT)
		ok = m >= 0x80 && m < 0x100 && qvmi__ses_policy_name(m) &&
		     !s->o.policy.deny[m];
	else
		ok = cmd_allowed(s, m);
	qvmi__ses_put32(out, ok);
	reply(s, h, out, sizeof(out));
}

static void cmd_version(struct qvmid_session_server *s,
			const struct qvmi_ses_hdr *h)
{
	uint8_t out[16] = { 0 };

	qvmi__ses_put16(out, QVMI_SES_VERSION);
	qvmi__ses_put64(out + 8, features(s, qvmi_map_count(s->ctx) > 0));
	reply(s, h, out, sizeof(out));
}

static void cmd_vm_info(struct qvmid_session_server *s,
			const struct qvmi_ses_hdr *h)
{
	struct qvmi_ses_info *info = malloc(sizeof(*info));
	uint8_t *out;
	size_t n;

	if (!info) {
		reply_err(s, h, -ENOMEM);
		return;
	}
	qvmid_ses_vm_info(s, info);
	n = qvmi__ses_info_size(info);
	out = qvmid_ses_reserve(s, n);
	if (out) {
		qvmi__ses_info_encode(info, out);
		qvmid_ses_commit(s, h->msg, h->seq, n);
	} else {
		reply_err(s, h, -ENOMEM);
	}
	free(info);
}

void qvmid_ses_command(struct qvmid_session_server *s,
		       const struct qvmi_ses_hdr *h, const uint8_t *p)
{
	s->st.requests++;
	if (!cmd_allowed(s, h->msg)) {
		s->st.denied++;
		qvmid_ses_log(s, QVMI_LOG_INFO, "session: %s denied by policy",
			      qvmi__ses_msg_name(h->msg));
		reply_err(s, h, -EPERM);
		return;
	}
	if (qvmid_ses_busy_stepping(s, h, p)) {
		reply_err(s, h, -EBUSY);
		return;
	}
	switch (h->msg) {
	case QVMI_SES_VERSION_CMD:
		return cmd_version(s, h);
	case QVMI_SES_CHECK_COMMAND:
	case QVMI_SES_CHECK_EVENT:
		return cmd_check(s, h, p);
	case QVMI_SES_VM_INFO:
		return cmd_vm_info(s, h);
	case QVMI_SES_READ_PA:
		return cmd_read(s, h, p);
	case QVMI_SES_WRITE_PA:
		return cmd_write(s, h, p);
	case QVMI_SES_TRANSLATE:
		return cmd_translate(s, h, p);
	case QVMI_SES_GET_REGS:
		return cmd_get_regs(s, h, p);
	case QVMI_SES_SET_REGS:
		return cmd_set_regs(s, h, p);
	case QVMI_SES_PAUSE:
		return cmd_pause(s, h);
	case QVMI_SES_RESUME:
		return cmd_resume(s, h);
	case QVMI_SES_HOOK:
	case QVMI_SES_UNHOOK_ACK:
		return qvmid_ses_hook_cmd(s, h, p);
	case QVMI_SES_BP_SET:
	case QVMI_SES_BP_CLEAR:
	case QVMI_SES_STEP:
	case QVMI_SES_EVENT_REPLY:
		return qvmid_ses_bp_cmd(s, h, p);
	default: /* every request id has a case; the wire checked it */
		reply_err(s, h, -EOPNOTSUPP);
	}
}
