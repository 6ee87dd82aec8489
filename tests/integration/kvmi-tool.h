// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The KVMi tool of tests/integration/test-kvmi.c (suite kvmi_client),
 * shared with test-kvmi-life.c (suite kvmi_life): one connection T from
 * qvmid --kvmi-connect, frames built from KVMI-WIRE.md.
 */
#ifndef QVMI_TEST_KVMI_TOOL_H
#define QVMI_TEST_KVMI_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "guest.h"

enum { IO_MS = 20000, MAX_EVQ = 16, MSG_MAX = 8192 };

struct ev {
	uint32_t seq;
	uint16_t size;
	uint8_t b[MSG_MAX];
};

struct tool {
	char dir[64], sock[108], proxy[108];
	int lfd, fd;
	pid_t qvmid;
	uint32_t seq;
	struct ev evq[MAX_EVQ];
	unsigned int nev;
	uint64_t reads;
};

extern struct tool T;

uint32_t send_msg(uint16_t id, const void *p, size_t n);
int32_t get_reply(uint16_t id, uint32_t seq, void *out, size_t cap, size_t *n);
int32_t call(uint16_t id, const void *p, size_t n, void *out, size_t cap,
	     size_t *got);
void wait_events(unsigned int want);
void stop_all(void *arg);
void accept_handshake(void);
const struct qvmi_guest *start_opts(bool gdb, const char *unhook_ms);
const struct qvmi_guest *start_ex(bool gdb);
const struct qvmi_guest *start(void);
void qmp_status(char *out, size_t cap);
unsigned int guest_smp(const struct qvmi_guest *g);
void pause_all(unsigned int n);
void continue_all(void);
void write_byte(uint64_t gpa, uint8_t v);
void vcpu_ctl(uint16_t id, unsigned int vcpu, uint16_t ev, uint8_t enable);
void reply_event(const struct ev *e, uint8_t action);
double ms_since(const struct timespec *t0);
int qmp_send(const char *cmd);
bool qmp_replied(int fd, int ms);

#endif
