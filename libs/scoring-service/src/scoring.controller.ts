/**
 * Read-only HTTP views of scoring: the policy in force (and configuration entries it
 * rejected), the bots registry and the daily statistics with the 30-vs-previous-30-days
 * comparison. For operators and the console until the admin API serves them.
 */
import {
  BadRequestException,
  Controller,
  Get,
  NotFoundException,
  Param,
  Query,
} from '@nestjs/common';
import type { BotRecord } from './registry';
import { ScoringService } from './scoring.service';
import { DAY_MS, type DailyStats, type PeriodComparison } from './statistics';
import { canonicalAddress } from '@moat/contracts';

@Controller('v1')
export class ScoringController {
  constructor(private readonly scoring: ScoringService) {}

  @Get('scoring/policy')
  policy() {
    const policy = this.scoring.policy;
    return {
      published: policy.published,
      profiles: policy.profiles,
      manual: this.scoring.follower.manualDecisions(),
      rejected: this.scoring.follower.rejections(),
    };
  }

  @Get('bots')
  async bots(
    @Query('offset') offset?: string,
    @Query('limit') limit?: string,
  ): Promise<{ total: number; bots: BotRecord[] }> {
    return this.scoring.registry.list(
      integer(offset, 'offset', 0, 0, 1_000_000),
      integer(limit, 'limit', 50, 1, 1000),
    );
  }

  @Get('bots/:subject')
  async bot(@Param('subject') subject: string): Promise<BotRecord> {
    const canonical = canonicalAddress(subject);
    if (!canonical) throw new BadRequestException(`"${subject}" is not an IP address`);
    const record = await this.scoring.registry.get(canonical);
    if (!record) throw new NotFoundException(`no bot recorded for ${canonical}`);
    return record;
  }

  /** `days` (default 30) up to `asOf` (epoch ms, default now), and the `days` before them. */
  @Get('statistics')
  async statistics(
    @Query('days') days?: string,
    @Query('asOf') asOf?: string,
  ): Promise<{ comparison: PeriodComparison[]; daily: DailyStats[] }> {
    const span = integer(days, 'days', 30, 1, 30);
    const end = integer(asOf, 'asOf', Date.now(), 0, 8.64e15);
    const [comparison, daily] = await Promise.all([
      this.scoring.statistics.overview(end, span),
      this.scoring.statistics.daily(end - (span - 1) * DAY_MS, end),
    ]);
    return { comparison, daily };
  }
}

function integer(
  text: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BadRequestException(`${name} must be an integer from ${min} to ${max}`);
  }
  return value;
}
