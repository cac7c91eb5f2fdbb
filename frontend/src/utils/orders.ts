import type { Order } from 'src/api/types';

export const ORDER_STATUS: Record<Order['status'], { label: string; color: string }> = {
  pending: { label: 'Awaiting payment', color: 'warning' },
  processing: { label: 'Payment processing', color: 'info' },
  confirmed: { label: 'Confirmed', color: 'positive' },
  failed: { label: 'Failed', color: 'negative' },
  cancelled: { label: 'Cancelled', color: 'grey-8' },
  expired: { label: 'Expired', color: 'grey-8' },
  refunded: { label: 'Refunded', color: 'grey-8' },
};
