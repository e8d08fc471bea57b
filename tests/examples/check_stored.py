#!/usr/bin/env python3
"""Checks what the mock server stored for the capture-helper examples (run_examples.sh).

Usage: check_stored.py STATS_URL [CA_FILE]
"""
import json
import ssl
import sys
import urllib.request


def main():
    url, ca = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else '')
    context = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(url, context=context, timeout=10) as answer:
        records = json.load(answer)['records']
    problems = []

    def one(what, match):
        found = [r for r in records if match(r)]
        if not found:
            problems.append(f'no stored record for {what}')
        return found

    # capture_libcurl: success with provider usage and its options.
    one('capture_libcurl', lambda r: r['provider'] == 'openai' and r.get('endpointTag') == 'support.reply'
        and r.get('promptVersion') == 'support_reply_v2' and r['status'] == 'success' and r['inputTokens'] > 0
        and r['metadata'].get('tokenSource') == 'provider')
    # llamacpp_server: two calls, the second with llama.cpp's reused prompt tokens as cached.
    llama = one('llamacpp_server', lambda r: r['provider'] == 'llamacpp')
    if len(llama) != 2:
        problems.append(f'llamacpp_server: {len(llama)} records, expected 2')
    elif not any(r['metadata'].get('cachedInputTokens', 0) > 0 for r in llama):
        problems.append('llamacpp_server: no record has metadata.cachedInputTokens')
    # ollama_stream: counts from the final NDJSON object.
    one('ollama_stream', lambda r: r['provider'] == 'ollama' and r['model'] == 'llama3.2:3b'
        and r['inputTokens'] > 0 and r['outputTokens'] > 0 and r['status'] == 'success')
    # responses_stream: usage and the response id from response.completed.
    one('responses_stream', lambda r: r['metadata'].get('operation') == 'responses' and r['inputTokens'] > 0
        and str(r['metadata'].get('providerRequestId', '')).startswith('resp_'))
    for p in problems:
        print('check_stored:', p, file=sys.stderr)
    if not problems:
        print('check_stored: the capture-helper examples stored what they should')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
