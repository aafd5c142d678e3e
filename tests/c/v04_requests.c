/* Request JSON through the nim-sds 0.4 API: every malformed shape gets
   nim-sds 0.4's std/json error text as the call's one RET_ERR result, never a
   crash; odd but valid requests are accepted as nim-sds accepts them. */
#include "testv04.h"

typedef struct {
  v4_json_fn fn;
  const char *req; /* NULL: a NULL request */
  int ret;
  const char *text; /* the whole result; NULL: only ret is checked */
} req_case;

#define WRAP sds_wrap_outgoing_message
#define UNWRAP sds_unwrap_received_message
#define MARK sds_mark_dependencies_met

static const req_case cases[] = {
    /* syntax */
    {WRAP, NULL, RET_ERR, "input(1, 0) Error: { expected"},
    {WRAP, "", RET_ERR, "input(1, 0) Error: { expected"},
    {WRAP, "{", RET_ERR, "input(1, 1) Error: string literal as key expected"},
    {WRAP, "{\"message\":", RET_ERR, "input(1, 11) Error: { expected"},
    {WRAP, "{'message':[1]}", RET_ERR, "input(1, 2) Error: string literal as key expected"},
    {WRAP, "{\"message\":[1],\"messageId\":\"x\",\"channelId\":\"ch\"} x", RET_ERR, "input(1, 50) Error: EOF expected"},
    {WRAP, "\n\n  {", RET_ERR, "input(3, 3) Error: string literal as key expected"},
    {WRAP, "{\"message\":[1,,2],\"messageId\":\"x\",\"channelId\":\"ch\"}", RET_ERR, "input(1, 15) Error: { expected"},
    {UNWRAP, NULL, RET_ERR, "input(1, 0) Error: { expected"},
    {MARK, "[", RET_ERR, "input(1, 1) Error: { expected"},
    /* missing keys, in declaration order */
    {WRAP, "{\"messageId\":\"x\",\"channelId\":\"ch\"}", RET_ERR, "key not found: .message"},
    {WRAP, "{\"message\":[1],\"channelId\":\"ch\"}", RET_ERR, "key not found: .messageId"},
    {WRAP, "{\"message\":[1],\"messageId\":\"x\"}", RET_ERR, "key not found: .channelId"},
    {WRAP, "[1,2]", RET_ERR, "key not found: .message"},
    {UNWRAP, "{}", RET_ERR, "key not found: .message"},
    {MARK, "{\"messageIds\":[\"a\"]}", RET_ERR, "key not found: .channelId"},
    {MARK, "null", RET_ERR, "key not found: .messageIds"},
    /* wrong kinds */
    {WRAP, "{\"message\":\"AQI=\",\"messageId\":\"x\",\"channelId\":\"ch\"}", RET_ERR,
     "Incorrect JSON kind. Wanted '{JArray}' in '.message' but got 'JString'."},
    {WRAP, "{\"message\":null,\"messageId\":\"x\",\"channelId\":\"ch\"}", RET_ERR,
     "Incorrect JSON kind. Wanted '{JArray}' in '.message' but got 'JNull'."},
    {WRAP, "{\"message\":[1.5],\"messageId\":\"x\",\"channelId\":\"ch\"}", RET_ERR,
     "Incorrect JSON kind. Wanted '{JInt}' in '.message[0]' but got 'JFloat'."},
    {WRAP, "{\"message\":[1,true],\"messageId\":\"x\",\"channelId\":\"ch\"}", RET_ERR,
     "Incorrect JSON kind. Wanted '{JInt}' in '.message[1]' but got 'JBool'."},
    {UNWRAP, "{\"message\":[1,2,99999999999999999999]}", RET_ERR,
     "Incorrect JSON kind. Wanted '{JInt}' in '.message[2]' but got 'JString'."},
    {WRAP, "{\"message\":[1],\"messageId\":1,\"channelId\":\"ch\"}", RET_ERR,
     "Incorrect JSON kind. Wanted '{JNull, JString}' in '.messageId' but got 'JInt'."},
    {MARK, "{\"messageIds\":\"a\",\"channelId\":\"ch\"}", RET_ERR,
     "Incorrect JSON kind. Wanted '{JArray}' in '.messageIds' but got 'JString'."},
    {MARK, "{\"messageIds\":[\"a\",{}],\"channelId\":\"ch\"}", RET_ERR,
     "Incorrect JSON kind. Wanted '{JNull, JString}' in '.messageIds[1]' but got 'JObject'."},
    /* numbers out of byte range are truncated to their low 8 bits, as nim-sds does */
    {WRAP, "{\"message\":[300,-1,256],\"messageId\":\"x300\",\"channelId\":\"ch\"}", RET_OK, NULL},
    /* processing errors */
    {WRAP, "{\"message\":[],\"messageId\":\"x\",\"channelId\":\"ch\"}", RET_ERR,
     "error processing wrap request: reInvalidArgument"},
    {UNWRAP, "{\"message\":[]}", RET_ERR, "error processing unwrap request: reDeserializationError"},
    {UNWRAP, "{\"message\":[1,2,3]}", RET_ERR, "error processing unwrap request: reDeserializationError"},
    {MARK, "{\"messageIds\":[\"m\"],\"channelId\":\"never-seen\"}", RET_ERR,
     "error processing mark-dependencies request: reInvalidArgument"},
    /* accepted */
    {WRAP, "{\"message\":[5],\"messageId\":null,\"channelId\":\"ch\",\"extra\":[{}]}", RET_OK, NULL},
    {MARK, "{\"messageIds\":[],\"channelId\":\"ch\",}", RET_OK, ""},
};

/* A huge request: an array of n byte values, optionally with one bad element
   at the end; built as {"message":[...]} (unwrap) or a wrap request. */
static char *huge(size_t n, int wrap, const char *last) {
  size_t cap = 4 * n + 128;
  char *s = malloc(cap), *p = s;
  p += sprintf(p, "{\"message\":[");
  for (size_t i = 0; i < n; i++) p += sprintf(p, "%s%u", i ? "," : "", (unsigned)(i * 7 % 256));
  if (last) p += sprintf(p, ",%s", last);
  p += sprintf(p, "]%s}", wrap ? ",\"messageId\":\"big\",\"channelId\":\"ch\"" : "");
  return s;
}

int main(void) {
  void *ctx = v4_create("alice");
  /* mark needs a channel the manager has seen */
  free(v4_call(WRAP, ctx, "{\"message\":[1],\"messageId\":\"seed\",\"channelId\":\"ch\"}", RET_OK, NULL));
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const req_case *c = &cases[i];
    char *got = v4_call(c->fn, ctx, c->req, c->ret, c->text);
    if (c->ret == RET_OK && c->fn == WRAP) CHECK(strncmp(got, "{\"message\":[", 12) == 0);
    free(got);
  }
  /* the truncated bytes are the content the message carries */
  char *w = v4_call(WRAP, ctx, "{\"message\":[300,-1,256],\"messageId\":\"t\",\"channelId\":\"ch\"}", RET_OK, NULL);
  CHECK(strstr(w, ",42,3,44,255,0,") != NULL); /* field 5: 0x2A, length 3, then 44 255 0 */
  free(w);

  /* huge arrays: over the 1 MiB wrap limit, a bad element at the very end,
     and a large garbage message to unwrap; each answered, none kept */
  char *big = huge((1 << 20) + 1, 1, NULL);
  free(v4_call(WRAP, ctx, big, RET_ERR, "error processing wrap request: reMessageTooLarge"));
  free(big);
  big = huge(2000000, 0, "1e3");
  free(v4_call(UNWRAP, ctx, big, RET_ERR, "Incorrect JSON kind. Wanted '{JInt}' in '.message[2000000]' but got 'JFloat'."));
  free(big);
  big = huge(500000, 0, NULL);
  free(v4_call(UNWRAP, ctx, big, RET_ERR, "error processing unwrap request: reDeserializationError"));
  free(big);
  /* arrays whose text exactly fills its allocation and ends at every offset of
     the parser's SIMD blocks, with and without the closing ']': nothing reads
     past the NUL (AddressSanitizer checks) */
  for (size_t n = 40; n < 140; n++) {
    for (int open = 0; open < 2; open++) {
      char *h = huge(n, 0, NULL);
      if (open) h[strlen(h) - 2] = 0; /* cut "]}" */
      size_t len = strlen(h);
      char *exact = malloc(len + 1), want[64];
      memcpy(exact, h, len + 1);
      free(h);
      if (open) snprintf(want, sizeof want, "input(1, %zu) Error: ] expected", len);
      else snprintf(want, sizeof want, "error processing unwrap request: reDeserializationError");
      free(v4_call(UNWRAP, ctx, exact, RET_ERR, want));
      free(exact);
    }
  }
  /* nesting deeper than std/json allows is a syntax error, not a stack overflow */
  size_t depth = 100000;
  char *deep = malloc(2 * depth + 32);
  strcpy(deep, "{\"message\":");
  memset(deep + 11, '[', depth);
  memset(deep + 11 + depth, ']', depth);
  strcpy(deep + 11 + 2 * depth, "}");
  free(v4_call(UNWRAP, ctx, deep, RET_ERR, "input(1, 1012) Error: ] expected"));
  free(deep);
  v4_destroy(ctx);
  return tu_done("v04_requests");
}
