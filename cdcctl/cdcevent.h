/* cdcevent: the CDC_EVENT log line `cdcctl consume` writes for every row:
 *
 *   CDC_EVENT topic=T partition=P offset=O database=D table=T op=insert type=INSERT data=<row json>
 *   CDC_EVENT topic=T partition=P offset=O database=D table=T op=ddl type=CREATE data=null sql="<JSON string>"
 *
 * database/table/type are written as-is when they match [A-Za-z0-9_$.-]+ and as a
 * JSON string otherwise (so "" for a database-level DDL's table, and names with
 * spaces stay unambiguous); data is the row's JSON object copied verbatim from the
 * message (newlines between tokens become spaces), so a line is always one line.
 * Built by hand (no allocation, no printf) because it runs for every row. */
#ifndef CDCCTL_CDCEVENT_H
#define CDCCTL_CDCEVENT_H
#include <stddef.h>
#include <stdint.h>

#include "canal.h"
#include "util.h"

/* " database=D table=T", the part of the line that depends only on the names
 * (callers cache it per table). malloc'd; *len set. */
char *cdcevent_segment(const struct canal_str *db, const struct canal_str *tb, size_t *len);

/* An upper bound of the bytes cdcevent_put writes for message m: topic_len and
 * seglen as passed to it, payload_len the row's length (DML) or 0 (DDL). */
size_t cdcevent_max_len(const struct canal_msg *m, size_t topic_len, size_t seglen, size_t payload_len);

/* Writes one line (ending in '\n') at p, which has cdcevent_max_len bytes of room,
 * and returns the end. row = NULL writes the DDL form. op is the op label. */
char *cdcevent_put(char *p, const char *topic, size_t topic_len, int32_t partition, int64_t offset,
                   const char *seg, size_t seglen, const char *op, const struct canal_msg *m,
                   const struct canal_row *row);

/* Turns the line breaks (\n, \r) in a row's JSON text p[0..n) into spaces, in
 * place, so the row stays on one line (of the log, or of _bulk's NDJSON). Only
 * whitespace between tokens can hold them: canal_decode lets no raw control
 * character through inside a row's strings. Checks sixteen bytes at a time. */
void cdcevent_unbreak(char *p, size_t n);

/* Appends all lines of a decoded message to sb (one per row of a DML; one for a
 * DDL; none for a watermark). For tests and cold paths. */
void cdcevent_format(struct strbuf *sb, const char *topic, int32_t partition, int64_t offset,
                     const struct canal_msg *m);

#endif
