import { Foundation1764000000000 } from './1764000000000-foundation';
import { Telemetry1764000000001 } from './1764000000001-telemetry';
import { RulesAlerts1764000000002 } from './1764000000002-rules-alerts';
import { Webhooks1764000000003 } from './1764000000003-webhooks';
import { MetricRollups1764000000004 } from './1764000000004-metric-rollups';
import { ReadingIdentities1764000000005 } from './1764000000005-reading-identities';
import { EvaluationMarks1764000000007 } from './1764000000007-evaluation-marks';
import { RuleTypesDeadlines1764000000008 } from './1764000000008-rule-types-deadlines';
import { Silences1764000000009 } from './1764000000009-silences';
import { WebhookControls1764000000010 } from './1764000000010-webhook-controls';
import { DeviceBitmaps1764000000011 } from './1764000000011-device-bitmaps';
import { RollupMetrics1764000000012 } from './1764000000012-rollup-metrics';
import { RollupHourDeltas1764000000013 } from './1764000000013-rollup-hour-deltas';
import { JitOff1764000000014 } from './1764000000014-jit-off';
import { DeviceWindow1764000000015 } from './1764000000015-device-window';

/** Every migration, oldest first. Listed explicitly so the app, the CLI and tests agree. */
export const MIGRATIONS = [
  Foundation1764000000000,
  Telemetry1764000000001,
  RulesAlerts1764000000002,
  Webhooks1764000000003,
  MetricRollups1764000000004,
  ReadingIdentities1764000000005,
  EvaluationMarks1764000000007,
  RuleTypesDeadlines1764000000008,
  Silences1764000000009,
  WebhookControls1764000000010,
  DeviceBitmaps1764000000011,
  RollupMetrics1764000000012,
  RollupHourDeltas1764000000013,
  JitOff1764000000014,
  DeviceWindow1764000000015,
];
