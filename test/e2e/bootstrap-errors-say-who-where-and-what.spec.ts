/**
 * Bootstrap errors about names and declarations carry what the user needs to fix them, as the
 * warnings do: strict mode names the class that injects or decorates and the declared name it
 * probably meant, lists every way a breaker can be declared (decorator options included), and a
 * conflict between two declarations shows both places and both values of the options that differ.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import { CircuitBreaker, CircuitBreakerConfigError, CircuitBreakerModule, InjectCircuitBreaker, UseCircuitBreaker } from '../../lib/index.js';
import type { CircuitBreakerModuleOptions } from '../../lib/index.js';
import { Apps } from './helpers.js';

@Injectable()
class ChargesService {
  constructor(@InjectCircuitBreaker('paymnets') readonly payments: CircuitBreaker) {}
}

@Injectable()
class RefundsService {
  constructor(@InjectCircuitBreaker('paymnets') readonly payments: CircuitBreaker) {}
}

@Injectable()
class CheckoutService {
  @UseCircuitBreaker('paymnets')
  async charge() {
    return 'charged';
  }
}

@Injectable()
class GeocoderClient {
  @UseCircuitBreaker('geocoder')
  async locate() {
    return 'here';
  }
}

function isTransient(error: unknown): boolean {
  return error instanceof Error && error.message.includes('ECONNRESET');
}

function isAnyError(): boolean {
  return true;
}

@Injectable()
class SearchService {
  @UseCircuitBreaker('search', { options: { timeoutMs: 500, minimumCalls: 2, isFailure: isAnyError } })
  async find() {
    return [];
  }
}

@Module({ imports: [CircuitBreakerModule.forFeature({ search: { timeoutMs: 500, minimumCalls: 2, slidingWindow: { type: 'count', size: 20 } } })] })
class SearchFeatureModule {}

// Two different classes with one name in one module (e.g. two files each exporting a
// UsersController): their labels and modules are the same, so the error must tell them apart.
const PublicUsers = (() => {
  @Controller('users')
  class UsersController {
    @Get()
    @UseCircuitBreaker()
    list() {
      return [];
    }
  }
  return UsersController;
})();

const AdminUsers = (() => {
  @Controller('admin/users')
  class UsersController {
    @Get()
    @UseCircuitBreaker()
    list() {
      return [];
    }
  }
  return UsersController;
})();

const RatesA = (() => {
  @Injectable()
  class RatesClient {
    @UseCircuitBreaker()
    async current() {
      return 1;
    }
  }
  return RatesClient;
})();

const RatesB = (() => {
  @Injectable()
  class RatesClient {
    @UseCircuitBreaker()
    async current() {
      return 2;
    }
  }
  return RatesClient;
})();

describe('bootstrap errors say who, where and what', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  const strictRoot = (options: CircuitBreakerModuleOptions = {}) =>
    CircuitBreakerModule.forRoot({ logger: false, strict: true, breakers: { payments: {} }, ...options });

  async function messageOf(metadata: Parameters<Apps['bootstrapError']>[0]): Promise<string> {
    const error = await apps.bootstrapError(metadata);
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    return (error as Error).message;
  }

  describe('strict mode, a name declared nowhere', () => {
    it('@InjectCircuitBreaker: names every class that injects it and the declared name it probably meant', async () => {
      const message = await messageOf({ imports: [strictRoot()], providers: [ChargesService, RefundsService] });
      expect(message).toContain('Circuit breaker "paymnets"');
      expect(message).toContain("@InjectCircuitBreaker('paymnets') in ChargesService");
      expect(message).toContain("@InjectCircuitBreaker('paymnets') in RefundsService");
      expect(message).toContain('Did you mean "payments"?');
    });

    it('@UseCircuitBreaker: names the decorator, the class and method, and the declared name it probably meant', async () => {
      const message = await messageOf({ imports: [strictRoot()], providers: [CheckoutService] });
      expect(message).toContain("@UseCircuitBreaker('paymnets') on CheckoutService.charge");
      expect(message).toContain('Did you mean "payments"?');
    });

    it('a name close to nothing declared gets no suggestion', async () => {
      const message = await messageOf({ imports: [strictRoot()], providers: [GeocoderClient] });
      expect(message).toContain("@UseCircuitBreaker('geocoder') on GeocoderClient.locate");
      expect(message).not.toContain('Did you mean');
    });

    it("lists every way to declare a breaker, a decorator's options included", async () => {
      const message = await messageOf({ imports: [strictRoot()], providers: [GeocoderClient] });
      expect(message).toContain("CircuitBreakerModule.forRoot, forRootAsync, forFeature or a @UseCircuitBreaker decorator's options");
    });
  });

  describe('two different classes with one name in one module, unnamed decorators', () => {
    it('controllers: the error says they are two classes and gives each one its route path', async () => {
      const message = await messageOf({ imports: [CircuitBreakerModule.forRoot({ logger: false })], controllers: [PublicUsers, AdminUsers] });
      expect(message).toContain('two different classes both named UsersController');
      expect(message).toContain("UsersController.list (module RootTestModule, controller at '/users')");
      expect(message).toContain("UsersController.list (module RootTestModule, controller at '/admin/users')");
    });

    it('providers: the error says they are two classes with one name', async () => {
      const message = await messageOf({ imports: [CircuitBreakerModule.forRoot({ logger: false })], providers: [RatesA, RatesB] });
      expect(message).toContain('two different classes both named RatesClient');
      expect(message).toContain('RatesClient.current (module RootTestModule, provider)');
    });
  });

  describe('one name declared with different options in two places', () => {
    it('shows both places and, for the options that differ only, both values (functions by name)', async () => {
      const message = await messageOf({
        imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { search: { timeoutMs: 1_000, minimumCalls: 2, isFailure: isTransient } } })],
        providers: [SearchService],
      });
      expect(message).toContain('declared with different options by CircuitBreakerModule.forRoot with { timeoutMs: 1000, isFailure: [function isTransient] }');
      expect(message).toContain(
        "and by @UseCircuitBreaker('search') options on SearchService.find (module RootTestModule) with { timeoutMs: 500, isFailure: [function isAnyError] }",
      );
      // minimumCalls is the same in both places (the error's value, after "got", is what the second place gave)
      expect(message.slice(0, message.lastIndexOf(', got '))).not.toContain('minimumCalls');
    });

    it("names the option where the second declaration gave them: a keyed decorator's options, or the module's families", async () => {
      @Injectable()
      class ShardsA {
        @UseCircuitBreaker('shards', { key: (id: string) => id, options: { timeoutMs: 100 } })
        async read(id: string): Promise<string> {
          return id;
        }
      }
      @Injectable()
      class ShardsB {
        @UseCircuitBreaker('shards', { key: (id: string) => id, options: { timeoutMs: 200 } })
        async write(id: string): Promise<string> {
          return id;
        }
      }
      const decorators = await apps.bootstrapError({ imports: [CircuitBreakerModule.forRoot({ logger: false })], providers: [ShardsA, ShardsB] });
      expect(decorators).toBeInstanceOf(CircuitBreakerConfigError);
      expect(decorators).toMatchObject({ breakerName: 'shards', option: 'options' });
      expect((decorators as Error).message).toContain('declared with different options by @UseCircuitBreaker');
      @Module({ imports: [CircuitBreakerModule.forFeature({ families: { shards: { timeoutMs: 300 } } })] })
      class ShardsFeature {}
      const modules = await apps.bootstrapError({ imports: [CircuitBreakerModule.forRoot({ logger: false, families: { shards: { timeoutMs: 100 } } }), ShardsFeature] });
      expect(modules).toMatchObject({ breakerName: 'shards', option: 'families' });
    });

    it('an option set in one place only shows as unset in the other; nested options show whole', async () => {
      const message = await messageOf({ imports: [CircuitBreakerModule.forRoot({ logger: false }), SearchFeatureModule], providers: [SearchService] });
      expect(message).toContain(
        'by CircuitBreakerModule.forFeature({ search }) in SearchFeatureModule with { slidingWindow: { type: "count", size: 20 }, isFailure: unset }',
      );
      expect(message).toContain("by @UseCircuitBreaker('search') options on SearchService.find (module RootTestModule) with { slidingWindow: unset, isFailure: [function isAnyError] }");
    });
  });
});
