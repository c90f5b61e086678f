// The suites build their images with the same code as `npm run images`.
export {
  BUSYBOX_IMAGE,
  ensureDemoImages as ensureTestImages,
  PI_100_DECIMALS,
  TESTPI_IMAGE,
} from '../../local/src/demo-images';
