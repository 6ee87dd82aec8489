// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Corpus replay for gcc builds (libgit2 fuzzers/standalone_driver.c): runs
 * LLVMFuzzerTestOneInput over every file in the directories or files given,
 * so every input that once crashed stays a test.  Under ASan+UBSan a bad
 * input aborts the run.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { REPLAY_MAX = 64 << 20 };

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > REPLAY_MAX ||
	    fseek(f, 0, SEEK_SET)) {
		fclose(f);
		return -1;
	}
	/* An exact-size heap copy, so ASan sees reads past the input. */
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int i, passed = 0, failed = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[i], &st)) {
			fprintf(stderr, "replay: %s: missing\n", argv[i]);
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			run_file(argv[i]) ? failed++ : passed++;
			continue;
		}
		d = opendir(argv[i]);
		while (d && (de = readdir(d))) {
			char p[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
			if (stat(p, &st) || !S_ISREG(st.st_mode))
				continue;
			if (run_file(p)) {
				fprintf(stderr, "replay: %s: unreadable\n", p);
				failed++;
			} else {
				passed++;
			}
		}
		if (d)
			closedir(d);
	}
	printf("%d passed, %d failed, 0 skipped\n", passed, failed);
	return failed ? 1 : 0;
}
