import { Controller, Get, Res } from '@nestjs/common';
import { Registry } from 'prom-client';

/** The part of the (Express) response this controller touches; on Fastify use `reply.header()`. */
interface HeaderSetter {
  setHeader(name: string, value: string): unknown;
}

/** Prometheus scrape endpoint: the text of the app's own prom-client registry. */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  async metrics(@Res({ passthrough: true }) res: HeaderSetter): Promise<string> {
    res.setHeader('Content-Type', this.registry.contentType);
    return this.registry.metrics();
  }
}
