/**
 * An @nestjs/axios HttpService client written the way users write it: decorated methods that return
 * `this.http.get(url)` with no return-type annotation. The breaker must see the Observable at run
 * time: errors counted, the fallback served, 503 + Retry-After once open without a fallback.
 */
import { Controller, Get, Injectable, Module, Param } from '@nestjs/common';
import { HttpModule, HttpService } from '@nestjs/axios';
import { map } from 'rxjs';
import { CircuitBreakerModule, UseCircuitBreaker } from 'nestjs-breaker';

export interface Quote {
  id: string;
  price: number | null;
  stale?: boolean;
}

@Injectable()
export class QuotesClient {
  constructor(private readonly http: HttpService) {}

  @UseCircuitBreaker('quotes', { fallback: 'noQuote' })
  getQuote(id: string) {
    return this.http.get<Quote>(`${process.env.QUOTES_URL}/quotes/${id}`).pipe(map((res) => res.data));
  }

  noQuote(id: string): Quote {
    return { id, price: null, stale: true };
  }

  @UseCircuitBreaker('quotes')
  getLiveQuote(id: string) {
    return this.http.get(`${process.env.QUOTES_URL}/quotes/${id}`);
  }
}

@Controller('quotes')
export class QuotesController {
  constructor(private readonly quotes: QuotesClient) {}

  @Get(':id')
  quote(@Param('id') id: string) {
    return this.quotes.getQuote(id);
  }

  @Get(':id/live')
  live(@Param('id') id: string) {
    return this.quotes.getLiveQuote(id).pipe(map((res) => res.data));
  }
}

@Module({
  imports: [HttpModule, CircuitBreakerModule.forFeature({ quotes: { minimumCalls: 4 } })],
  controllers: [QuotesController],
  providers: [QuotesClient],
})
export class QuotesModule {}
