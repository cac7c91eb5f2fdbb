// Business metrics of notifications, every name prefixed `notifications_`.
import { prom } from '@eventtickets/platform';

export interface NotificationsMetrics {
  messagesQueued: prom.Counter<'kind' | 'channel'>;
  messagesSent: prom.Counter<'kind' | 'channel'>;
  deliveryFailures: prom.Counter<'channel' | 'outcome'>;
}

export function createNotificationsMetrics(registry: prom.Registry): NotificationsMetrics {
  const registers = [registry];
  return {
    messagesQueued: new prom.Counter({
      name: 'notifications_messages_queued_total',
      help: 'Messages recorded in the delivery log, by kind and channel',
      labelNames: ['kind', 'channel'] as const,
      registers,
    }),
    messagesSent: new prom.Counter({
      name: 'notifications_messages_sent_total',
      help: 'Messages accepted by the SMTP server or SMS provider, by kind and channel',
      labelNames: ['kind', 'channel'] as const,
      registers,
    }),
    deliveryFailures: new prom.Counter({
      name: 'notifications_delivery_failures_total',
      help: 'Failed delivery attempts by channel and outcome (retry: another attempt is scheduled; dead: given up)',
      labelNames: ['channel', 'outcome'] as const,
      registers,
    }),
  };
}
