// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * qvmi find: search guest RAM for a string or bytes.  The scan reads what
 * the RAM backing holds, not its size (qvmi_find_pa_opts skips holes of a
 * sparse RAM file and anonymous memory QEMU never touched), and shows
 * progress on a terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"

enum {
	OPT_HEX = OPT_CMD_BASE,
	OPT_MAX,
	PATTERN_MAX = 4096, /* qvmi_find_pa's limit */
};

struct find_args {
	bool hex;
	uint64_t max;
	uint64_t count;
	struct json_object *hits;
	struct cli_progress progress;
};

static int find_opt(struct cli *cli, int opt, const char *arg, void *data)
{
	struct find_args *a = data;

	(void)cli;
	if (opt == OPT_HEX) {
		a->hex = true;
		return 0;
	}
	if (opt == OPT_MAX && !cli_parse_u64(arg, &a->max) && a->max)
		return 0;
	fprintf(stderr, "qvmi: bad --max '%s'\n", arg);
	return -1;
}

static int find_hit(uint64_t gpa, void *arg)
{
	struct find_args *a = arg;

	if (a->hits) {
		json_object_array_add(a->hits, json_object_new_uint64(gpa));
	} else {
		cli_progress_clear(&a->progress);
		printf("0x%llx\n", (unsigned long long)gpa);
		fflush(stdout);
	}
	return ++a->count >= a->max;
}

static int parse_pattern(const struct find_args *a, const char *s,
			 uint8_t **pat, size_t *n)
{
	int err;

	if (a->hex) {
		err = cli_parse_hex(s, pat, n);
	} else {
		*n = strlen(s);
		*pat = (uint8_t *)strdup(s);
		err = *pat && *n ? 0 : -EINVAL;
	}
	if (!err && *n > PATTERN_MAX)
		err = -E2BIG;
	if (err) {
		free(*pat);
		*pat = NULL;
	}
	return err;
}

int cmd_find(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hex", no_argument, NULL, OPT_HEX },
		{ "max", required_argument, NULL, OPT_MAX },
		{ 0 },
	};
	struct find_args a = { .max = 100 };
	uint8_t *pat = NULL;
	size_t n;
	int i, err, rc = 0;

	i = cli_parse(cli, cli_find_cmd("find"), argc, argv, opts, find_opt,
		      &a);
	if (i == CLI_EXIT_HELP)
		return 0;
	if (i < 0)
		return 2;
	if (argc - i != 1)
		return cli_usage_error(cli_find_cmd("find"),
				       "need one PATTERN"),
		       2;
	if (parse_pattern(&a, argv[i], &pat, &n)) {
		fprintf(stderr, "qvmi: find: bad pattern\n");
		return 2;
	}
	if (cli_attach(cli)) {
		free(pat);
		return 1;
	}
	if (cli->json)
		a.hits = json_object_new_array();
	cli_progress_init(&a.progress);
	{
		QVMI_OPTS(qvmi_find_opts, fopts, .progress = cli_progress,
			  .progress_arg = &a.progress);

		err = qvmi_find_pa_opts(cli->ctx, pat, n, find_hit, &a, &fopts);
	}
	cli_progress_clear(&a.progress);
	if (err < 0)
		rc = cli_fail(cli, "find", err);
	if (a.hits) {
		if (!rc)
			cli_json_print(a.hits);
		else
			json_object_put(a.hits);
	}
	if (!rc && !a.count && !cli->json)
		fprintf(stderr, "qvmi: find: no match\n");
	free(pat);
	return rc ? rc : (a.count ? 0 : 1);
}
