# cdcctl build. `make` builds build/cdcctl; `make test` installs what is missing, runs
# unit and integration tests; `make bench` runs the benchmarks; `make install PREFIX=...`.
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
PKGS      = libcurl mariadb rdkafka yaml-0.1 jansson libmicrohttpd libarchive libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Icdcctl -Ibuild $(PKG_CFLAGS)
LDLIBS   += $(PKG_LIBS) -lpthread -lm
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif

B        := build
SRCS     := $(wildcard cdcctl/*.c)
OBJS     := $(patsubst cdcctl/%.c,$(B)/obj/%.o,$(SRCS)) $(B)/obj/embedded_data.o
LIBOBJS  := $(filter-out $(B)/obj/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
# The parsers of untrusted input also run their unit tests built with ASan+UBSan.
ASAN_UNITS := test_canal test_cdcevent
ASAN_SRCS  := cdcctl/canal.c cdcctl/canal_scan.c cdcctl/canal_str.c cdcctl/cdcevent.c cdcctl/util.c
ASAN_BINS  := $(patsubst %,$(B)/asan/%,$(ASAN_UNITS))
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(patsubst tests/helpers/%.c,$(B)/tests/helpers/%,$(HELPER_SRCS))

# Files compiled into the binary: the default manifest and everything it references,
# plus the consumer image's build context (this source tree).
EMBED_FILES := $(sort $(shell find manifests config monitoring -type f ! -name '.*' 2>/dev/null))
CONTEXT_FILES := $(sort Makefile Dockerfile .dockerignore $(SRCS) $(wildcard cdcctl/*.h) tools/embed.c \
                 $(EMBED_FILES))

.PHONY: all cdcctl test unit integration bench install clean check-deps
all: $(B)/cdcctl
cdcctl: $(B)/cdcctl

$(B)/cdcctl: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/%.o: cdcctl/%.c $(wildcard cdcctl/*.h) | $(B)/obj
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/obj $(B)/tests $(B)/tests/helpers $(B)/asan:
	mkdir -p $@

$(B)/embed: tools/embed.c | $(B)/obj
	$(CC) -std=c11 -O2 -Wall -Wextra -Werror -o $@ $<

$(B)/context.tar: $(CONTEXT_FILES) | $(B)/obj
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2020-01-01 00:00Z' \
	    -cf $@ $(CONTEXT_FILES)

$(B)/embedded_data.c: $(B)/embed $(EMBED_FILES) $(B)/context.tar
	$(B)/embed $@ $(EMBED_FILES) consumer-context.tar=$(B)/context.tar

$(B)/obj/embedded_data.o: $(B)/embedded_data.c cdcctl/embedded.h
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/tests/test_%: tests/unit/test_%.c $(LIBOBJS) | $(B)/tests
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBOBJS) $(LDLIBS) $(shell pkg-config --libs cmocka)

$(B)/asan/%: tests/unit/%.c $(ASAN_SRCS) $(wildcard cdcctl/*.h) | $(B)/asan
	$(CC) $(CFLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
		-o $@ $< $(ASAN_SRCS) $(LDLIBS) $(shell pkg-config --libs cmocka)

$(B)/tests/helpers/%: tests/helpers/%.c $(LIBOBJS) | $(B)/tests/helpers
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBOBJS) $(LDLIBS)

check-deps:
	@tests/setup.sh deps

unit: check-deps $(B)/cdcctl $(UNIT_BINS) $(ASAN_BINS)
	@tests/run-unit.sh $(UNIT_BINS) $(ASAN_BINS)

integration: check-deps $(B)/cdcctl $(HELPER_BINS)
	@tests/run-integration.sh

# The README's test command. Installs what is missing, then unit + integration tests,
# ending with "N passed, N failed".
test: check-deps
	@$(MAKE) --no-print-directory $(B)/cdcctl $(UNIT_BINS) $(ASAN_BINS) $(HELPER_BINS)
	@tests/run-all.sh $(UNIT_BINS) $(ASAN_BINS)

bench: check-deps $(B)/cdcctl $(HELPER_BINS)
	@tests/bench/run.sh

install: $(B)/cdcctl
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/cdcctl $(DESTDIR)$(PREFIX)/bin/cdcctl

clean:
	rm -rf $(B)
