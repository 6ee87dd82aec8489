// SPDX-License-Identifier: LGPL-2.1-or-later
/* GDB remote protocol framing and decoders; a scripted peer for the
 * connection.  Byte strings come from QEMU 7.2 (data/qemu72-gdbstub.txt). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "fake-rsp.h"
#include "qvmi.h"
#include "proto/rsp.h"

static void test_checksum(void)
{
	/* from the capture: "$QCp01.01#f4", "$OK#9a", "$E14#aa" */
	CHECK_INT(qvmi__rsp_checksum("QCp01.01", 8), ==, 0xf4);
	CHECK_INT(qvmi__rsp_checksum("OK", 2), ==, 0x9a);
	CHECK_INT(qvmi__rsp_checksum("E14", 3), ==, 0xaa);
	CHECK_INT(qvmi__rsp_checksum("", 0), ==, 0);
}

static void test_scan(void)
{
	static const uint8_t in[] = "+$T02thread:p01.01;#03-\x03x$E1";
	struct qvmi_rsp_item it;
	size_t off = 0;

	CHECK_OK(qvmi__rsp_scan(in, sizeof(in) - 1, 100, &it));
	CHECK_INT(it.kind, ==, QVMI_RSP_ACK);
	off += it.consumed;
	CHECK_OK(qvmi__rsp_scan(in + off, sizeof(in) - 1 - off, 100, &it));
	CHECK_INT(it.kind, ==, QVMI_RSP_PACKET);
	CHECK_INT(it.payload_len, ==, 17);
	CHECK(!memcmp(in + off + it.payload_off, "T02thread:p01.01;", 17));
	CHECK(it.csum_ok);
	off += it.consumed;
	CHECK_OK(qvmi__rsp_scan(in + off, sizeof(in) - 1 - off, 100, &it));
	CHECK_INT(it.kind, ==, QVMI_RSP_NACK);
	off += it.consumed;
	CHECK_OK(qvmi__rsp_scan(in + off, sizeof(in) - 1 - off, 100, &it));
	CHECK_INT(it.kind, ==, QVMI_RSP_INTR);
	off += it.consumed;
	CHECK_OK(qvmi__rsp_scan(in + off, sizeof(in) - 1 - off, 100, &it));
	CHECK_INT(it.kind, ==, QVMI_RSP_GARBAGE);
	off += it.consumed;
	/* "$E1": incomplete */
	CHECK_OK(qvmi__rsp_scan(in + off, sizeof(in) - 1 - off, 100, &it));
	CHECK_INT(it.kind, ==, QVMI_RSP_NEED_MORE);
	/* the checksum digits not there yet */
	CHECK_OK(qvmi__rsp_scan((const uint8_t *)"$OK#9", 5, 100, &it));
	CHECK_INT(it.kind, ==, QVMI_RSP_NEED_MORE);
	/* bad checksum is reported, not fatal */
	CHECK_OK(qvmi__rsp_scan((const uint8_t *)"$OK#9b", 6, 100, &it));
	CHECK_INT(it.kind, ==, QVMI_RSP_PACKET);
	CHECK(!it.csum_ok);
	/* non-stop notification */
	CHECK_OK(qvmi__rsp_scan((const uint8_t *)"%Stop:T05#00", 12, 100, &it));
	CHECK_INT(it.kind, ==, QVMI_RSP_NOTIFY);
	/* malformed checksum digits and oversize packets */
	CHECK_INT(qvmi__rsp_scan((const uint8_t *)"$OK#zz", 6, 100, &it), ==,
		  -EPROTO);
	CHECK_INT(qvmi__rsp_scan((const uint8_t *)"$0123456789", 11, 8, &it),
		  ==, -EPROTO);
	CHECK_INT(qvmi__rsp_scan((const uint8_t *)"$012345678#00", 13, 8, &it),
		  ==, -EPROTO);
	CHECK_OK(qvmi__rsp_scan((const uint8_t *)"$01234567#9c", 12, 8, &it));
	CHECK(it.csum_ok);
}

static void test_decode_rle_escape(void)
{
	uint8_t out[64];
	size_t n = 0;

	/* gdb docs: "0* " is "0000" (' ' = 32: three more) */
	CHECK_OK(qvmi__rsp_decode((const uint8_t *)"0* ", 3, false, out,
				  sizeof(out), &n));
	CHECK_INT(n, ==, 4);
	CHECK(!memcmp(out, "0000", 4));
	/* '"' = 34: five more -> 6 x 'f', used to avoid '#' */
	CHECK_OK(qvmi__rsp_decode((const uint8_t *)"ab*\"c", 5, false, out,
				  sizeof(out), &n));
	CHECK_INT(n, ==, 8);
	CHECK(!memcmp(out, "abbbbbbc", 8));
	/* escapes: }] -> '}', }\x03 -> '#', }\x04 -> '$', }\x0a -> '*' */
	CHECK_OK(qvmi__rsp_decode((const uint8_t *)"l}]}\x03}\x04}\x0a", 9,
				  true, out, sizeof(out), &n));
	CHECK_INT(n, ==, 5);
	CHECK(!memcmp(out, "l}#$*", 5));
	/* not binary: '}' stays */
	CHECK_OK(qvmi__rsp_decode((const uint8_t *)"}]", 2, false, out,
				  sizeof(out), &n));
	CHECK_INT(n, ==, 2);
	/* errors */
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)"* ", 2, false, out,
				   sizeof(out), &n),
		  ==, -EBADMSG);
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)"a*", 2, false, out,
				   sizeof(out), &n),
		  ==, -EBADMSG);
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)"a*\x10", 3, false, out,
				   sizeof(out), &n),
		  ==, -EBADMSG);
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)"ab}", 3, true, out,
				   sizeof(out), &n),
		  ==, -EBADMSG);
	/* '~' = 126: 97 more bytes do not fit in 64 */
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)"a*~", 3, false, out,
				   sizeof(out), &n),
		  ==, -EPROTO);
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)"abc", 3, false, out, 2,
				   &n),
		  ==, -EPROTO);
}

static void test_frame(void)
{
	uint8_t out[64];
	uint8_t dec[64];
	size_t n;
	int len;

	len = qvmi__rsp_frame((const uint8_t *)"qC", 2, out, sizeof(out));
	CHECK_INT(len, ==, 6);
	CHECK(!memcmp(out, "$qC#b4", 6));
	len = qvmi__rsp_frame((const uint8_t *)"Z1,ffffffff88252dd0,1", 21, out,
			      sizeof(out));
	/* the capture: "$Z1,ffffffff88252dd0,1#45" */
	CHECK_INT(len, ==, 25);
	CHECK(!memcmp(out, "$Z1,ffffffff88252dd0,1#45", 25));
	/* escaping round-trips */
	len = qvmi__rsp_frame((const uint8_t *)"a#b$c}d*", 8, out, sizeof(out));
	CHECK_INT(len, ==, 1 + 12 + 3);
	CHECK(!memchr(out + 1, '#', 12) && !memchr(out + 1, '$', 12));
	CHECK_OK(qvmi__rsp_decode(out + 1, 12, true, dec, sizeof(dec), &n));
	CHECK_INT(n, ==, 8);
	CHECK(!memcmp(dec, "a#b$c}d*", 8));
	char cs[3] = { (char)out[14], (char)out[15], 0 };
	CHECK_INT(qvmi__rsp_checksum(out + 1, 12), ==, strtol(cs, NULL, 16));
	CHECK_INT(qvmi__rsp_frame((const uint8_t *)"abcdef", 6, out, 8), ==,
		  -ENOSPC);
}

static void test_parse_stop(void)
{
	struct qvmi_rsp_stop s;
	const char *p;

	p = "T05thread:p01.02;"; /* QEMU 7.2, breakpoint on vCPU 1 */
	CHECK_OK(qvmi__rsp_parse_stop(p, strlen(p), &s));
	CHECK_INT(s.kind, ==, QVMI_RSP_STOP_SIGNAL);
	CHECK_INT(s.signal, ==, 5);
	CHECK(s.has_thread);
	CHECK_INT(s.thread.pid, ==, 1);
	CHECK_INT(s.thread.tid, ==, 2);
	CHECK_INT(s.watch, ==, QVMI_RSP_WATCH_NONE);
	p = "T02thread:01;"; /* on connect, before multiprocess is agreed */
	CHECK_OK(qvmi__rsp_parse_stop(p, strlen(p), &s));
	CHECK_INT(s.signal, ==, 2);
	CHECK_INT(s.thread.pid, ==, -2);
	CHECK_INT(s.thread.tid, ==, 1);
	p = "T05thread:p01.01;watch:ffffd163c0543e08;";
	CHECK_OK(qvmi__rsp_parse_stop(p, strlen(p), &s));
	CHECK_INT(s.watch, ==, QVMI_RSP_WATCH_WRITE);
	CHECK_U64(s.watch_addr, ==, 0xffffd163c0543e08ull);
	p = "T05awatch:1000;thread:p2.a;core:1;hwbreak:;10:eb922588ffffffff;";
	CHECK_OK(qvmi__rsp_parse_stop(p, strlen(p), &s));
	CHECK_INT(s.watch, ==, QVMI_RSP_WATCH_ACCESS);
	CHECK_INT(s.thread.pid, ==, 2);
	CHECK_INT(s.thread.tid, ==, 10);
	CHECK(s.hwbreak && !s.swbreak && s.has_core && s.core == 1);
	p = "T05rwatch:20;swbreak:"; /* last pair without ';' */
	CHECK_OK(qvmi__rsp_parse_stop(p, strlen(p), &s));
	CHECK_INT(s.watch, ==, QVMI_RSP_WATCH_READ);
	CHECK(s.swbreak);
	CHECK_OK(qvmi__rsp_parse_stop("S05", 3, &s));
	CHECK_INT(s.signal, ==, 5);
	CHECK(!s.has_thread);
	CHECK_OK(qvmi__rsp_parse_stop("W00;process:1", 13, &s));
	CHECK_INT(s.kind, ==, QVMI_RSP_STOP_EXITED);
	CHECK_OK(qvmi__rsp_parse_stop("X09", 3, &s));
	CHECK_INT(s.kind, ==, QVMI_RSP_STOP_KILLED);
	CHECK_INT(s.signal, ==, 9);
	/* not stop replies, or broken ones */
	static const char *const bad[] = {
		"",
		"OK",
		"E14",
		"T0",
		"S5",
		"S05x",
		"T05thread;",
		"T05:1;",
		"T05thread:zz;",
		"T05watch:;",
		"W0",
		"X01junk",
		"T05thread:p.1;",
		"T05;;",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(qvmi__rsp_parse_stop(bad[i], strlen(bad[i]), &s) ==
				  -EBADMSG,
			  "accepted \"%s\"", bad[i]);
}

static void test_hex_and_errors(void)
{
	uint8_t b[8];
	size_t n;
	uint64_t v;
	struct qvmi_rsp_tid t;

	CHECK_OK(qvmi__rsp_hex2bin("40ad010000000000", 16, b, sizeof(b), &n));
	CHECK_INT(n, ==, 8);
	CHECK_INT(b[0], ==, 0x40);
	CHECK_INT(b[1], ==, 0xad);
	CHECK_INT(qvmi__rsp_hex2bin("4", 1, b, sizeof(b), &n), ==, -EBADMSG);
	CHECK_INT(qvmi__rsp_hex2bin("xx", 2, b, sizeof(b), &n), ==, -EBADMSG);
	CHECK_INT(qvmi__rsp_hex2bin("0011", 4, b, 1, &n), ==, -EPROTO);
	CHECK_OK(qvmi__rsp_parse_hex("ffffffff88252dd0", 16, &v));
	CHECK_U64(v, ==, 0xffffffff88252dd0ull);
	CHECK_INT(qvmi__rsp_parse_hex("11112222333344445", 17, &v), ==,
		  -EBADMSG);
	CHECK_INT(qvmi__rsp_parse_hex("", 0, &v), ==, -EBADMSG);
	CHECK_INT(qvmi__rsp_error_code("E14", 3), ==, 0x14);
	CHECK_INT(qvmi__rsp_error_code("E22", 3), ==, 0x22);
	CHECK_INT(qvmi__rsp_error_code("OK", 2), ==, -1);
	CHECK_INT(qvmi__rsp_error_code("E1", 2), ==, -1);
	CHECK_OK(qvmi__rsp_parse_tid("p-1.-1", 6, &t));
	CHECK_INT(t.pid, ==, -1);
	CHECK_INT(t.tid, ==, -1);
	CHECK_OK(qvmi__rsp_parse_tid("p1", 2, &t));
	CHECK_INT(t.pid, ==, 1);
	CHECK_INT(t.tid, ==, -1);
	CHECK_INT(qvmi__rsp_parse_tid("p1.", 3, &t), ==, -EBADMSG);
}

/* ---- the connection, against a scripted peer --------------------------- */

struct conn_fixture {
	struct qvmi_ctx *ctx;
	struct fake_peer peer;
	struct qvmi_rsp_conn c;
	char *buf;
};

static void conn_start(struct conn_fixture *f, const struct fake_step *steps,
		       int timeout_ms)
{
	CHECK_OK(qvmi_ctx_create(&f->ctx));
	fake_start(&f->peer, steps);
	CHECK_OK(qvmi__rsp_init(&f->c, f->ctx, f->peer.fd, timeout_ms));
	f->peer.fd = -1; /* the connection owns it now */
	f->buf = malloc(QVMI_RSP_MAX_DECODED + 1);
}

static int conn_cmd(struct conn_fixture *f, const char *c, size_t *n)
{
	return qvmi__rsp_command(&f->c, c, false, f->buf,
				 QVMI_RSP_MAX_DECODED + 1, n);
}

static void conn_end(struct conn_fixture *f)
{
	qvmi__rsp_deinit(&f->c);
	CHECK_MSG(fake_finish(&f->peer), "%s", f->peer.error);
	free(f->buf);
	qvmi_ctx_destroy(f->ctx);
}

static void test_conn_connect_stop_first(void)
{
	/* QEMU 7.2 on connect to a running VM: the stop reply comes first,
	 * then the ack and reply of our first packet. */
	static const struct fake_step s[] = {
		{ F_RAW, "$T02thread:p01.01;#03" },
		{ F_EXPECT, "qSupported:multiprocess+" },
		{ F_EXPECT_BYTE, "+" }, /* the ack of T02 */
		{ F_REPLY, "PacketSize=1000;qXfer:features:read+;"
			   "vContSupported+;multiprocess+" },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	conn_start(&f, s, 2000);
	CHECK_OK(conn_cmd(&f, "qSupported:multiprocess+", &n));
	/* the queued stop reply comes out first */
	CHECK_STR(f.buf, "T02thread:p01.01;");
	CHECK_OK(qvmi__rsp_recv(&f.c, false, -1, f.buf,
				QVMI_RSP_MAX_DECODED + 1, &n));
	CHECK(!strncmp(f.buf, "PacketSize=1000;", 16));
	conn_end(&f);
}

static void test_conn_bad_checksum_from_peer(void)
{
	static const struct fake_step s[] = {
		{ F_EXPECT, "qC" },
		{ F_RAW, "$QCp01.01#00" }, /* corrupt */
		{ F_EXPECT_BYTE, "-" },
		{ F_RAW, "$QCp01.01#f4" }, /* QEMU's retransmit */
		{ F_EXPECT_BYTE, "+" },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	conn_start(&f, s, 2000);
	CHECK_OK(conn_cmd(&f, "qC", &n));
	CHECK_STR(f.buf, "QCp01.01");
	CHECK_INT(f.c.bad_checksums, ==, 1);
	conn_end(&f);
}

static void test_conn_nack_retransmit(void)
{
	/* like QEMU answering a corrupted packet with '-' */
	static const struct fake_step s[] = {
		{ F_EXPECT, "g", 0, true }, { F_RAW, "-" },
		{ F_EXPECT, "g", 0, true }, { F_RAW, "+" },
		{ F_REPLY, "E22" },	    { F_END },
	};
	struct conn_fixture f;
	size_t n;

	conn_start(&f, s, 2000);
	CHECK_OK(conn_cmd(&f, "g", &n));
	CHECK_STR(f.buf, "E22");
	CHECK_INT(f.c.retransmits, ==, 1);
	conn_end(&f);
}

static void test_conn_nack_forever(void)
{
	static const struct fake_step s[] = {
		{ F_EXPECT, "g", 0, true },
		{ F_RAW, "-" },
		{ F_EXPECT, "g", 0, true },
		{ F_RAW, "-" },
		{ F_EXPECT, "g", 0, true },
		{ F_RAW, "-" },
		{ F_EXPECT, "g", 0, true },
		{ F_RAW, "-" },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	conn_start(&f, s, 2000);
	CHECK_INT(conn_cmd(&f, "g", &n), ==, -EPROTO);
	CHECK(strstr(qvmi_errmsg(f.ctx), "refused"));
	conn_end(&f);
}

static void test_conn_rle_binary_reply(void)
{
	/* a stub that compresses: 'm' with a run, and a binary qXfer */
	static const struct fake_step s[] = {
		{ F_EXPECT, "m1000,8" },
		{ F_REPLY, "0* 11*!" }, /* 0 + 3 more, 11 + 4 more */
		{ F_EXPECT, "qXfer:features:read:target.xml:0,ff8" },
		{ F_REPLY, "l<a>}]}\x03</a>" },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	conn_start(&f, s, 2000);
	CHECK_OK(conn_cmd(&f, "m1000,8", &n));
	CHECK_STR(f.buf, "0000111111");
	CHECK_OK(qvmi__rsp_command(&f.c, "qXfer:features:read:target.xml:0,ff8",
				   true, f.buf, QVMI_RSP_MAX_DECODED + 1, &n));
	CHECK_STR(f.buf, "l<a>}#</a>");
	conn_end(&f);
}

static void test_conn_peer_closes(void)
{
	static const struct fake_step s[] = {
		{ F_EXPECT, "?" },
		{ F_CLOSE },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	conn_start(&f, s, 2000);
	CHECK_INT(conn_cmd(&f, "?", &n), ==, -EPIPE);
	CHECK(strstr(qvmi_errmsg(f.ctx), "closed"));
	/* and later sends fail cleanly too */
	CHECK_INT(conn_cmd(&f, "?", &n), <, 0);
	conn_end(&f);
}

static void test_conn_timeout(void)
{
	static const struct fake_step s[] = {
		{ F_EXPECT, "?" },
		{ F_SLEEP, NULL, 300 },
		{ F_END },
	};
	struct conn_fixture f;
	struct timespec t0, t1;
	size_t n;
	long ms;

	conn_start(&f, s, 100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_INT(conn_cmd(&f, "?", &n), ==, -ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK_INT(ms, >=, 90);
	CHECK_INT(ms, <, 1000);
	conn_end(&f);
}

static void test_conn_garbage(void)
{
	static char junk[600];
	static struct fake_step s[] = {
		{ F_EXPECT, "?" },
		{ F_RAW, junk },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	memset(junk, 'x', sizeof(junk) - 1);
	conn_start(&f, s, 2000);
	CHECK_INT(conn_cmd(&f, "?", &n), ==, -EPROTO);
	CHECK(strstr(qvmi_errmsg(f.ctx), "garbage"));
	conn_end(&f);
}

static void test_conn_oversize(void)
{
	static char big[QVMI_RSP_MAX_PACKET + 200];
	static struct fake_step s[] = {
		{ F_EXPECT, "g" },
		{ F_RAW, big },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	big[0] = '$';
	memset(big + 1, 'a', sizeof(big) - 2);
	conn_start(&f, s, 2000);
	CHECK_INT(conn_cmd(&f, "g", &n), ==, -EPROTO);
	conn_end(&f);
}

static void test_conn_noise_tolerated(void)
{
	/* a few stray bytes, duplicate acks and a notification are skipped */
	static const struct fake_step s[] = {
		{ F_EXPECT, "?" },
		{ F_RAW, "\r\n++%Stop:T05#a8" },
		{ F_REPLY, "S05" },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	conn_start(&f, s, 2000);
	CHECK_OK(conn_cmd(&f, "?", &n));
	CHECK_STR(f.buf, "S05");
	conn_end(&f);
}

static void test_conn_noack(void)
{
	/* a stub in no-ack mode: nothing to wait for, nothing sent back */
	static const struct fake_step s[] = {
		{ F_EXPECT, "vCont?", 0, true },
		{ F_RAW, "$vCont;c;C;s;S#62$OK#00" },
		{ F_EXPECT, "qC", 0, true },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	conn_start(&f, s, 2000);
	f.c.noack = true;
	CHECK_OK(conn_cmd(&f, "vCont?", &n));
	CHECK_STR(f.buf, "vCont;c;C;s;S");
	/* checksums are not checked in no-ack mode (the gdb docs) */
	CHECK_OK(qvmi__rsp_recv(&f.c, false, -1, f.buf,
				QVMI_RSP_MAX_DECODED + 1, &n));
	CHECK_STR(f.buf, "OK");
	CHECK_OK(qvmi__rsp_send(&f.c, "qC", 2));
	conn_end(&f);
}

/* A reply that comes after its command timed out is not the next
 * command's answer (RSP has no ids): the connection skips the reply it
 * is owed before it sends again.  Before, the second read returned the
 * first address's bytes. */
static void test_conn_late_reply(void)
{
	static const struct fake_step s[] = {
		{ F_EXPECT, "m1000,4" },
		{ F_SLEEP, NULL, 150 },
		{ F_REPLY, "11111111" }, /* late */
		{ F_EXPECT, "m2000,4" },
		{ F_REPLY, "22222222" },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	conn_start(&f, s, 100);
	CHECK_INT(conn_cmd(&f, "m1000,4", &n), ==, -ETIMEDOUT);
	CHECK_INT(f.c.owed, ==, 1);
	CHECK_OK(conn_cmd(&f, "m2000,4", &n));
	CHECK_STR(f.buf, "22222222");
	CHECK_INT(f.c.owed, ==, 0);
	CHECK_INT(f.c.late_replies, ==, 1);
	conn_end(&f);
}

/* The late reply never comes: nothing more is sent (a reply read then
 * could be anyone's), and the error says why. */
static void test_conn_late_reply_missing(void)
{
	static const struct fake_step s[] = {
		{ F_EXPECT, "m1000,4" },
		{ F_SLEEP, NULL, 400 },
		{ F_END },
	};
	struct conn_fixture f;
	size_t n;

	conn_start(&f, s, 100);
	CHECK_INT(conn_cmd(&f, "m1000,4", &n), ==, -ETIMEDOUT);
	CHECK_INT(conn_cmd(&f, "m2000,4", &n), ==, -ETIMEDOUT);
	CHECK_MSG(strstr(qvmi_errmsg(f.ctx), "owes 1 late"), "%s",
		  qvmi_errmsg(f.ctx));
	conn_end(&f);
}

static const struct qvmi_test rsp_tests[] = {
	{ "conn_late_reply", test_conn_late_reply },
	{ "conn_late_reply_missing", test_conn_late_reply_missing },
	{ "checksum", test_checksum },
	{ "scan", test_scan },
	{ "decode_rle_escape", test_decode_rle_escape },
	{ "frame", test_frame },
	{ "parse_stop", test_parse_stop },
	{ "hex_and_errors", test_hex_and_errors },
	{ "conn_connect_stop_first", test_conn_connect_stop_first },
	{ "conn_bad_checksum_from_peer", test_conn_bad_checksum_from_peer },
	{ "conn_nack_retransmit", test_conn_nack_retransmit },
	{ "conn_nack_forever", test_conn_nack_forever },
	{ "conn_rle_binary_reply", test_conn_rle_binary_reply },
	{ "conn_peer_closes", test_conn_peer_closes },
	{ "conn_timeout", test_conn_timeout },
	{ "conn_garbage", test_conn_garbage },
	{ "conn_oversize", test_conn_oversize },
	{ "conn_noise_tolerated", test_conn_noise_tolerated },
	{ "conn_noack", test_conn_noack },
};
QVMI_SUITE(rsp, rsp_tests);
