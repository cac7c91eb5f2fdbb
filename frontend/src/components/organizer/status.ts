// An event's status as the organizer sees it: label, chip colour (white text, AA contrast) and icon.
import { matCancel, matCheckCircle, matEditNote, matHistory } from '@quasar/extras/material-icons';
import type { EventSummary } from 'src/api/types';

export const STATUS: Record<EventSummary['status'], { label: string; color: string; icon: string }> = {
  draft: { label: 'Draft', color: 'grey-8', icon: matEditNote },
  published: { label: 'Published', color: 'positive', icon: matCheckCircle },
  cancelled: { label: 'Cancelled', color: 'negative', icon: matCancel },
  ended: { label: 'Ended', color: 'blue-grey-8', icon: matHistory },
};
