/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qvmid's QMP proxy under test: a scripted fake QEMU (fakeqmp) behind a
 * ctx over 1 MiB of test memory, the proxy loop in a thread, and raw
 * socket clients.  Shared by the proxy's unit suites.
 */
#ifndef QVMI_TEST_PROXYRIG_H
#define QVMI_TEST_PROXYRIG_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../daemon/qmp-proxy.h"

enum { PRIG_MEM_SIZE = 1 << 20, PRIG_WAIT_MS = 5000 };

/*
 * The fake QEMU answers "query-status" as QEMU 7.2 does, "slow" after
 * slow_ms, "fail" with an error, "noid" with an error that has no id (as
 * QEMU answers what it cannot parse), "stop" with a STOP event first,
 * "getfd" by writing "qvmi-fd-ok" into the fd that came with it (QEMU's
 * error without one), "count-fds" with the fds it holds unclaimed, and
 * anything else with {"cmd": ..., "args": ...}.
 */
struct fake {
	pthread_mutex_t lock;
	char last_id[128]; /* the id QEMU saw last */
	char last_req[1024]; /* ... and that request, as received */
	int slow_ms;
};

struct prig {
	struct fake fake;
	struct fakeqmp *f;
	struct qvmi_ctx *ctx;
	struct qvmid_proxy *p;
	pthread_t thr;
	int rc;
	uint8_t *mem;
	char path[108];
	bool adopted; /* the proxy serves an inherited listening socket */
};

struct qvmid_proxy_stats;

void prig_tmp_path(char *buf, size_t n, const char *what);
/* Start with max_queue (0: default) and these options (NULL: none). */
void prig_start(struct prig *r, size_t max_queue);
/* Same on an inherited listening socket ("fd:N"; -1: a path of its own):
 * prig_stop then checks the proxy left its path alone. */
void prig_start_on(struct prig *r, size_t max_queue, int listen_fd);
/* Stop the loop; expect rc.  The fake QEMU then sees EOF. */
void prig_stop(struct prig *r, int rc, struct qvmid_proxy_stats *st);
char *pcli_line(int fd);
/* Send send_text (if any), then expect reply as the next line. */
void pcli_expect(int fd, const char *send_text, const char *reply);
/* Nothing arrives within ms. */
void pcli_nothing(int fd, int ms);
/* Connect, check the greeting, negotiate. */
int pcli_ready(const char *path);

#endif
