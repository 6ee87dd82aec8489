/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A raw stream-socket client for tests that talk to a server under test
 * (pmemaccess, the QMP proxy, sessions).  The tcli_*_raw helpers never
 * CHECK, so worker threads may use them (CHECK longjmps); the others fail
 * the test.  Line reads keep bytes past the last line per fd (fds below
 * 64); tcli_close() forgets them.
 */
#ifndef QVMI_TEST_SOCKCLI_H
#define QVMI_TEST_SOCKCLI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Connect to a unix socket; fails the test on error. */
int tcli_connect(const char *path);
/* Send all of buf (MSG_NOSIGNAL); false on error. */
bool tcli_send_raw(int fd, const void *buf, size_t len);
/* Receive up to len bytes: the count (short only at EOF), or -1 on error
 * or when nothing comes for ms. */
ssize_t tcli_recv_raw(int fd, void *buf, size_t len, int ms);
/* Send a string in one send(); fails the test if it is cut. */
void tcli_send_str(int fd, const char *s);
/* One CRLF-terminated line (without it) into a static buffer, or NULL on
 * EOF; fails the test on a timeout or a line over 64 KiB. */
char *tcli_line(int fd, int ms);
/* Bytes received past the last line returned. */
size_t tcli_buffered(int fd);
void tcli_close(int fd);

#endif
