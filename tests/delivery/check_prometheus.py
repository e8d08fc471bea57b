#!/usr/bin/env python3
"""Parses a Prometheus text exposition with the reference parser (python3-prometheus-client)
and checks the families and samples opsmeter::to_prometheus_text must write.

Usage: check_prometheus.py FILE DELIVERED LABEL=VALUE
Exit 0 when every check holds; otherwise each problem on stderr and exit 1.
"""
import sys

from prometheus_client.parser import text_string_to_metric_families

DROP_REASONS = ['queue_full', 'paused', 'invalid', 'disabled', 'rejected', 'retries_exhausted',
                'too_old', 'shutdown', 'internal', 'dry_run']
COUNTERS = ['opsmeter_records_recorded', 'opsmeter_records_delivered', 'opsmeter_records_dropped',
            'opsmeter_records_rejected', 'opsmeter_retries', 'opsmeter_throttled_responses',
            'opsmeter_requests_sent', 'opsmeter_request_bytes', 'opsmeter_callback_errors',
            'opsmeter_records_spooled', 'opsmeter_records_unspooled', 'opsmeter_spool_records_lost']
GAUGES = ['opsmeter_queue_records', 'opsmeter_queue_bytes', 'opsmeter_queue_capacity_records',
          'opsmeter_queue_capacity_bytes', 'opsmeter_in_flight', 'opsmeter_retry_waiting',
          'opsmeter_oldest_pending_age_seconds', 'opsmeter_last_delivery_timestamp_seconds',
          'opsmeter_enabled', 'opsmeter_unreachable', 'opsmeter_telemetry_paused', 'opsmeter_throttled',
          'opsmeter_send_rate_limit']


def main():
    path, delivered, label = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    label_name, label_value = label.split('=', 1)
    with open(path, encoding='utf-8') as f:
        text = f.read()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    problems = []
    for name in COUNTERS:
        if name not in families or families[name].type != 'counter':
            problems.append(f'{name}: missing or not a counter')
    for name in GAUGES:
        if name not in families or families[name].type != 'gauge':
            problems.append(f'{name}: missing or not a gauge')
        elif len(families[name].samples) != 1:
            problems.append(f'{name}: {len(families[name].samples)} samples, expected 1')
    for family in families.values():
        if not family.documentation:
            problems.append(f'{family.name}: no HELP text')
        for sample in family.samples:
            if sample.labels.get(label_name) != label_value:
                problems.append(f'{sample.name}: label {label_name} is {sample.labels.get(label_name)!r}')
    if 'opsmeter_records_dropped' in families:
        reasons = sorted(s.labels.get('reason') for s in families['opsmeter_records_dropped'].samples)
        if reasons != sorted(DROP_REASONS):
            problems.append(f'opsmeter_records_dropped: reasons {reasons}, expected one sample per drop reason')

    def value(family, suffix=''):
        samples = [s for s in families.get(family, []).samples if s.name == family + suffix] \
            if family in families else []
        return samples[0].value if samples else None

    if value('opsmeter_records_delivered', '_total') != delivered:
        problems.append(f'delivered {value("opsmeter_records_delivered", "_total")}, expected {delivered}')
    if value('opsmeter_records_recorded', '_total') != delivered:
        problems.append(f'recorded {value("opsmeter_records_recorded", "_total")}, expected {delivered}')
    if value('opsmeter_enabled') != 1:
        problems.append('opsmeter_enabled is not 1')
    if not value('opsmeter_last_delivery_timestamp_seconds'):
        problems.append('no last delivery time after deliveries')
    for p in problems:
        print('check_prometheus:', p, file=sys.stderr)
    if not problems:
        print(f'check_prometheus: {len(families)} families parsed, every check holds')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
